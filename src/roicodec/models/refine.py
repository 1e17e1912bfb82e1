"""Encoder-side refinement of a hyperprior model's latent: the same decoder, fewer bytes for the same picture.

The analysis transform ``g_a`` is one network for every image; its latent is good on average, not the best this
image's decoder could be given. With the hyper-latent ``z`` (so every cell's coding table) held fixed, the latent is
optimised for this image's own rate + lambda x 255^2 x MSE, the objective the model was trained on, by gradient steps
through ``g_s`` (Campos, Meierhans, Djelouah and Schroers 2019, "Content adaptive optimization for neural image
compression"; Yang, Bamler and Mandt 2020); the result is rounded and coded as usual. Decoders need nothing new: a
refined file is an ordinary file of the same model.

Quantisation is relaxed two ways, as Minnen and Singh (2020) train: the rate sees the latent with uniform noise (a
smooth stand-in for the tables' probabilities), the picture sees the latent rounded, as the decoder will, with the
gradient passed straight through the rounding. With noise on both, as training relaxes them, the steps optimised a
picture the decoder never makes: on kodim05 and kodim20 (hp-q1, q3, q5) 30 such steps saved 3.6 % of the rate at
equal PSNR, 30 steps with the rounded picture 6.9 % (docs/refine.md).

It needs torch (the decoder runs without it) and costs one ``g_s`` forward and backward pass per step. ``g_s`` runs in
blocks of latent cells with their context, their gradients summed, so memory stays bounded whatever the image's
size. The bytes depend on torch's float arithmetic (thread count, CPU), as any encoder's choices may; the decoder's
reading of them does not.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np

from roicodec.errors import RoiError
from roicodec.models import STRIDE
from roicodec.models.base_model import SYNTHESIS_HALO, analysis_input, cuts, grid
from roicodec.models.gaussian import MEAN_STEPS, SCALES
from roicodec.models.hyper_coder import HyperpriorCoder

CELLS = 16
"""Latent cells along each side of one ``g_s`` block (256 x 256 pixels, plus context): about 250 MB of activations
and their gradients."""
TRAVEL, MAX_STEP = 0.36, 0.01
"""Adam's first step on the latent (in quantisation steps) is ``TRAVEL / steps``, at most ``MAX_STEP``, decayed
linearly to zero over the steps: past 36 steps the latent moves about as far whatever the step count, and more steps
take it there more finely. Measured by hand on kodim05 and kodim20 (hp-q1, q3, q5; BD-rate against the plain file):
30 steps of 0.005, 0.01 and 0.02 saved 6.6, 6.9 and 2.0 %; 60 steps of 0.006 and 0.01 saved 7.2 and 4.0 %. Moved
farther, the latent leaves the range where the noisy rate stands for the rounded one; a few large steps raised the
cost of a small crop (5 steps of 0.07 on hp-q3), where 5 of 0.01 lowered it."""


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise RoiError("refining the base needs torch: pip install torch==2.13.0 (the CPU build), or encode with "
                       "refine=0") from None
    return torch


def check(model_name: str, steps: Any) -> None:
    """Refuse, before anything is coded, what :func:`refine` could not do: a step count that is not a whole number
    of 0 or more, a model without a hyperprior, a machine without torch."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise RoiError(f"refine is a number of steps, 0 or more (30 is a good start), not {steps!r}")
    from roicodec.models import registry

    if registry.load(model_name).architecture != "HyperpriorAutoencoder":
        raise RoiError(f"base model {model_name!r} has no hyperprior to refine against: choose a hyperprior "
                       "model (hps-q1 to hps-q5, hp-q1 to hp-q5), or encode with refine=0")
    _torch()


def trade_off(meta: dict[str, Any]) -> float:
    """The lambda that a model's encoder and entropy models were trained for: its own, or for a model whose synthesis
    alone was tuned afterwards (``training.base_synthesis``: the ``hps`` family), its source's, pinned by hash."""
    recipe = meta["recipe"]
    if "lambda" in recipe:
        return float(recipe["lambda"])
    from roicodec.models import registry

    return trade_off(registry.load(recipe["source"], bytes.fromhex(recipe["source_hash"])).meta)


def refine(model: Any, image: np.ndarray, latent: np.ndarray, steps: int, tile: int, seed: int = 0, *,
           picture: str = "rounded", first_step: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``latent`` (``model.analyse(image)``) after ``steps`` steps of rate-distortion optimisation for ``image``
    (``HxWxC`` uint8, C 1 or 3), and the hyper-latent it is to be coded with (``model.code(latent, z)``). The steps
    start from ``g_a``'s output before rounding (tile by tile, on ``model.analyse``'s grid of ``tile``), so that
    the cells it left near a rounding boundary are the first to move. ``picture`` and ``first_step`` are there to
    measure the choices against others (``benchmarks/refine_probe.py``): ``"noisy"`` gives the picture term the
    noisy latent, as training does; ``first_step`` replaces ``min(MAX_STEP, TRAVEL / steps)``."""
    if picture not in ("rounded", "noisy"):
        raise ValueError(f"picture is 'rounded' or 'noisy', not {picture!r}")
    check(model.meta["name"], steps)
    coder = model.coder
    assert isinstance(coder, HyperpriorCoder)
    torch = _torch()
    from roicodec.models import nets

    g_s = nets.part(model.meta, model.arrays, "g_s")
    lam = trade_off(model.meta)
    m, (lh, lw) = coder.latent_channels, latent.shape[1:]
    z = coder.hyper_latent(latent)
    raw = coder.index(z, (lh, lw))
    sigma = torch.from_numpy(SCALES[raw[:m].astype(np.intp)].astype(np.float32))
    mu = torch.from_numpy((raw[m:] / MEAN_STEPS).astype(np.float32))
    h, w = image.shape[:2]
    y = _unrounded(torch, nets.part(model.meta, model.arrays, "g_a"), image, latent, tile).requires_grad_(True)
    first = min(MAX_STEP, TRAVEL / max(steps, 1)) if first_step is None else first_step
    optimiser = torch.optim.Adam([y], lr=first)
    noise = torch.Generator().manual_seed(seed)
    normal = torch.distributions.Normal(0.0, 1.0)
    before, after = SYNTHESIS_HALO
    blocks = [(r0, r1, c0, c1) for r0, r1 in pairwise(cuts(0, lh, CELLS)) for c0, c1 in pairwise(cuts(0, lw, CELLS))]
    # Each block's own pixels (the image may be a lazy array: read once, kept as uint8, a block at a time).
    targets = []
    for r0, r1, c0, c1 in blocks:
        pix = np.array(image[r0 * STRIDE:min(r1 * STRIDE, h), c0 * STRIDE:min(c1 * STRIDE, w)], np.uint8)
        targets.append(np.repeat(pix, 3, axis=2) if pix.shape[2] == 1 else pix)
    scale = 1.0 / (h * w)
    for step in range(steps):
        for group in optimiser.param_groups:
            group["lr"] = first * (1 - step / steps)
        optimiser.zero_grad()
        # The rate of the latent with uniform noise in place of rounding; below, the picture of the rounded latent.
        noisy = y + (torch.rand(y.shape, generator=noise) - 0.5)
        centred = noisy - mu
        p = normal.cdf((centred + 0.5) / sigma) - normal.cdf((centred - 0.5) / sigma)
        (-torch.log2(p.clamp_min(1e-9)).sum() * scale).backward()
        # Its gradient is taken as the latent's own (straight through the rounding).
        held = (torch.round(y.detach()) if picture == "rounded" else noisy.detach()).requires_grad_(True)
        for (r0, r1, c0, c1), pix in zip(blocks, targets):
            y0, y1, x0, x1 = max(r0 - before, 0), min(r1 + after, lh), max(c0 - before, 0), min(c1 + after, lw)
            out = g_s(held[None, :, y0:y1, x0:x1])[0]
            oy, ox = (r0 - y0) * STRIDE, (c0 - x0) * STRIDE
            # Only the image's own pixels count, not the padding of its last cells.
            part = out[:, oy:oy + pix.shape[0], ox:ox + pix.shape[1]]
            target = torch.from_numpy(pix).permute(2, 0, 1).float() / 255
            error = ((part - target) ** 2).sum()
            (error * (lam * 255 ** 2 * scale / 3)).backward()
        y.grad += held.grad
        optimiser.step()
    refined = np.clip(np.rint(y.detach().numpy()), -32768, 32767).astype(np.int16)
    return refined, z


def _unrounded(torch: Any, g_a: Any, image: np.ndarray, latent: np.ndarray, tile: int) -> Any:
    """``g_a``'s latent before rounding, on the same tiles as ``BaseModel.analyse`` (so ``round`` of it is
    ``latent`` but for float order); where they differ, ``latent``'s value is kept."""
    out = torch.from_numpy(latent.astype(np.float32))
    with torch.no_grad():
        for ry, rx, oy, ox in grid(*latent.shape[1:], tile // STRIDE):
            pix = analysis_input(image, oy, ox)
            x = torch.from_numpy(np.ascontiguousarray(pix.transpose(2, 0, 1), np.float32) / 255)[None]
            y = g_a(x)[0, :, ry.start - oy.start:ry.stop - oy.start, rx.start - ox.start:rx.stop - ox.start]
            out[:, ry, rx] = torch.where(torch.round(y) == out[:, ry, rx], y, out[:, ry, rx])
    return out

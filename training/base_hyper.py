"""Train the mean-scale hyperprior base models (``hp-q1`` ... ``hp-q5``) in one run, warm-started from the shipped ``rd``
family.

    python -m training.base_hyper --data ../shared/data/bsds500 --work out/hp-train
    python -m training.export out/hp-train/hp-q*.npz

As ``training.base_rd`` (whose gained variable-rate scheme it keeps): one set of GDN transforms for every rate, a
gain and an inverse-gain vector per rate, each batch spread over the rates. The hyper branch shares its middle layers
across rates; each rate has its own first ``h_a`` layer (the latent's scale differs per rate), its own last ``h_s``
layer and its own factorised model for ``z``. Export folds the gains in, so every shipped model is a plain
``HyperpriorAutoencoder``.

``h_s`` trains as the integer network it ships as (``roicodec.models.integer``): its weights and biases are rounded to
multiples of ``2**-SHIFT`` and its activations to multiples of ``2**-FRACTION`` in [0, 256) in the forward pass
(shipped as integers in [0, 4095]), with straight-through
gradients, and its output is rounded to a table index; so the indices the trainer optimised are the ones the exact
integer network computes. Loss per crop: bits of y and z per pixel + lambda x 255^2 x MSE.

Start: the transforms and gains from the shipped ``rd-q*.npz`` (the middle rate's transforms; each rate's gains are
the ratio of its folded layers to the middle rate's, which recovers the family they were exported from exactly). For
``--freeze`` iterations only the hyper branch learns, so that its random start does not pull the transforms away;
those iterations skip the synthesis and cost about a third. With ``--freeze`` equal to ``--iters`` the transforms
never train, and each exported ``hp-q`` file borrows its ``rd-q`` twin's (``roicodec.models.store.borrowed``): the
family then ships as entropy models over the rd transforms, a fraction of a megabyte each. When they do train
(the ``hp2`` run: ``--name hp2 --freeze 5000 --iters 15000``; measured, not shipped), the first rate's file holds
the shared transforms unfolded and every file its rate's gains, folded in when the file is read
(``roicodec.models.store``): one copy of the transforms for the family, not five. The warm-up of the transforms' step size counts from their unfreezing. The run
checkpoints to ``--work`` and resumes from there.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from roicodec import weights
from roicodec.models import store
from roicodec.models.density import FactorizedDensity
from roicodec.models.factorized import FactorizedAutoencoder
from roicodec.models.gaussian import MEAN_STEPS, SCALES, gaussian_tables
from roicodec.models.hyperprior import HYPER_SYNTHESIS, HyperpriorAutoencoder

# The rd family's lambdas (each hp-q is its rd-q's counterpart), its evaluation and its step-size schedule.
from training.base_rd import LAMBDAS, evaluate, lr_at
from training.checkpoint import Checkpoint
from training.loop import add_run_options, begin_run, run_log, step
from training.photos import load_photos, random_crops, test_photos

SHIFT = 14
"""Fractional bits of ``h_s``'s weights and biases: steps of 1/16384 on activations that are integers."""
FRACTION = 4
"""Fractional bits of ``h_s``'s hidden activations. Whole-number activations were too coarse: a first run settled on
activations of 1 to 4, with 16 distinct values per layer, and its hyperprior coded no better than the factorised one."""
ACTIVATION_MAX = 4095
"""The hidden activations' ceiling as integers (in ``2**-FRACTION``): 256 in the float network."""
MEAN_MAX = 512 * MEAN_STEPS
"""Means are clamped to +-512 latent units (in 1 / MEAN_STEPS), far beyond any latent the transforms make."""
LOG_SCALE_LOW, LOG_SCALE_STEP = math.log(float(SCALES[0])), math.log(float(SCALES[1] / SCALES[0]))


class _Round(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return grad


class _Clamp(torch.autograd.Function):
    """Clamp whose gradient still passes where it would bring a value back into range (Ballé et al. 2019's bounded
    activations): a plain clamp would freeze a unit for good once it left."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x, low, high)
        return torch.maximum(torch.minimum(x, high), low)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:  # type: ignore[override]
        x, low, high = ctx.saved_tensors
        keep = ((x >= low) | (grad < 0)) & ((x <= high) | (grad > 0))
        return grad * keep.to(grad.dtype), None, None


def _quantised(t: torch.Tensor) -> torch.Tensor:
    return _Round.apply(t * 2 ** SHIFT) / 2 ** SHIFT


def _layer(spec: dict[str, Any], cin: int, cout: int) -> nn.Module:
    k = spec["kernel"]
    if spec["transposed"]:
        layer = nn.ConvTranspose2d(cin, cout, k, spec["stride"], spec["padding"], spec["output_padding"])
    else:
        layer = nn.Conv2d(cin, cout, k, spec["stride"], spec["padding"])
    return layer


class IntegerSynthesis(nn.Module):
    """``h_s`` for every rate: shared layers and one last layer per rate, run with the shipped integer arithmetic's
    rounding in the forward pass."""

    def __init__(self, hyper_channels: int, latent_channels: int, rates: int) -> None:
        super().__init__()
        n = hyper_channels
        self.shared = nn.ModuleList([_layer(HYPER_SYNTHESIS[0], n, n), _layer(HYPER_SYNTHESIS[1], n, n)])
        self.heads = nn.ModuleList(_layer(HYPER_SYNTHESIS[2], n, 2 * latent_channels) for _ in range(rates))
        m = latent_channels
        # Per output channel of a head: scale indices first, then means in 1 / MEAN_STEPS.
        self.register_buffer("head_low", torch.tensor([0] * m + [-MEAN_MAX] * m, dtype=torch.float32)[:, None, None],
                             persistent=False)
        self.register_buffer("head_high", torch.tensor([len(SCALES) - 1] * m + [MEAN_MAX] * m,
                                                       dtype=torch.float32)[:, None, None], persistent=False)
        with torch.no_grad():
            # Activations are integers: start them in the tens, not below one, so rounding keeps information.
            for layer in self.shared:
                layer.weight.mul_(4.0)
                layer.bias.uniform_(0.0, 16.0)
            for head in self.heads:
                head.bias[:m].fill_(25.0)  # a mid-ladder scale (about 2.4) before anything is learned
                head.bias[m:].zero_()

    @staticmethod
    def _apply(layer: nn.Module, a: torch.Tensor, low: torch.Tensor, high: torch.Tensor, fraction: int) -> torch.Tensor:
        """One layer, its output rounded to multiples of ``2**-fraction`` and clamped to ``[low, high]`` (in those
        steps), returned as a float value."""
        w, b = _quantised(layer.weight), _quantised(layer.bias)
        if isinstance(layer, nn.ConvTranspose2d):
            out = F.conv_transpose2d(a, w, b, layer.stride, layer.padding, layer.output_padding)
        else:
            out = F.conv2d(a, w, b, layer.stride, layer.padding)
        return _Clamp.apply(_Round.apply(out * 2 ** fraction), low, high) / 2 ** fraction

    def forward(self, z: torch.Tensor, rate: int) -> torch.Tensor:
        """Scale indices, then means in 1 / MEAN_STEPS (integers as floats, straight-through), for integer ``z`` coded
        at ``rate``: the shipped network's output, channel for channel."""
        a = z
        low, high = torch.zeros(()), torch.tensor(float(ACTIVATION_MAX))
        for layer in self.shared:
            a = self._apply(layer, a, low, high, FRACTION)
        return self._apply(self.heads[rate], a, self.head_low, self.head_high, 0)

    def export(self, rate: int) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
        """The shipped form of one rate's ``h_s``: layer specs for the weight file's meta and its integer arrays."""
        specs, arrays = [], {}
        for i, (layer, spec) in enumerate(zip([*self.shared, self.heads[rate]], HYPER_SYNTHESIS)):
            low: int | list[int] = 0 if i < 2 else [int(v) for v in self.head_low.flatten()]
            high: int | list[int] = ACTIVATION_MAX if i < 2 else [int(v) for v in self.head_high.flatten()]
            # Inputs carry frac_in fractional bits (none for z), outputs frac_out (none for the head): the sum is in
            # 2**-(SHIFT + frac_in), and the shift brings it to 2**-frac_out.
            frac_in, frac_out = (0 if i == 0 else FRACTION), (FRACTION if i < 2 else 0)
            w = torch.round(layer.weight.detach() * 2 ** SHIFT).to(torch.int64).numpy()
            b = torch.round(layer.bias.detach() * 2 ** SHIFT).to(torch.int64).numpy() << frac_in
            if np.abs(w).max() >= 2 ** 15 or np.abs(b).max() >= 2 ** 31:
                raise SystemExit(f"h_s layer {i} has a weight beyond int16 or a bias beyond int32 after scaling: "
                                 "the run diverged")
            arrays[f"int/h_s.{i}.weight"] = w.astype(np.int16)
            arrays[f"int/h_s.{i}.bias"] = b.astype(np.int32)
            specs.append({"transposed": spec["transposed"], "stride": spec["stride"], "padding": spec["padding"],
                          "output_padding": spec["output_padding"], "shift": SHIFT + frac_in - frac_out,
                          "low": low, "high": high})
        return specs, arrays


def gaussian_likelihood(y: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Mass of ``[y - 0.5, y + 0.5]`` under a zero-mean Gaussian of ``scale`` (pass ``y`` minus the mean), taken on the lower tail where it is
    not a difference of two numbers near 1."""
    v = torch.abs(y)
    upper = torch.special.ndtr((0.5 - v) / scale)
    lower = torch.special.ndtr((-0.5 - v) / scale)
    return (upper - lower).clamp_min(1e-9)


class HyperFamily(nn.Module):
    def __init__(self, channels: int, latent_channels: int, hyper_channels: int, lambdas: tuple[float, ...]) -> None:
        super().__init__()
        self.lambdas = tuple(lambdas)
        m, n = latent_channels, hyper_channels
        rates = len(lambdas)
        self.net = FactorizedAutoencoder(channels, latent_channels)
        start = torch.tensor([0.5 * np.log(lam / lambdas[-1]) for lam in lambdas], dtype=torch.float32)
        self.log_gain = nn.Parameter(start[:, None].repeat(1, m))
        self.log_inv_gain = nn.Parameter(-start[:, None].repeat(1, m))
        self.h_a_first = nn.ModuleList(nn.Conv2d(m, n, 3, padding=1) for _ in range(rates))
        self.h_a_rest = nn.Sequential(nn.ReLU(), nn.Conv2d(n, n, 5, stride=2, padding=2), nn.ReLU(),
                                      nn.Conv2d(n, n, 5, stride=2, padding=2))
        self.h_s = IntegerSynthesis(n, m, rates)
        self.z_densities = nn.ModuleList(FactorizedDensity(n) for _ in range(rates))

    def transform_parameters(self) -> list[nn.Parameter]:
        return [*self.net.parameters(), self.log_gain, self.log_inv_gain]

    def forward(self, x: torch.Tensor, rates: torch.Tensor, noise: bool = True, transforms: bool = True
                ) -> tuple[torch.Tensor | None, torch.Tensor]:
        """Reconstruction and bits (y and z) per crop; crop ``i`` is coded at rate ``rates[i]``. With ``transforms``
        false (they are frozen) the analysis runs without gradients and no reconstruction is made: the distortion
        does not depend on the hyper branch, and skipping the synthesis and both backward passes makes an iteration
        several times cheaper."""
        with torch.set_grad_enabled(transforms and torch.is_grad_enabled()):
            y = self.net.g_a(x) * self.log_gain[rates].exp()[:, :, None, None]
        y_hat = y + torch.empty_like(y).uniform_(-0.5, 0.5) if noise else torch.round(y)
        bits = torch.zeros(len(x))
        for r in torch.unique(rates).tolist():
            sel = rates == r
            z = self.h_a_rest(self.h_a_first[r](y[sel]))
            z_noisy = z + torch.empty_like(z).uniform_(-0.5, 0.5) if noise else torch.round(z)
            # h_s sees z rounded (straight through), as the decoder will: the integer network takes integers.
            out = self.h_s(_Round.apply(z), r)[:, :, :y.shape[2], :y.shape[3]]
            m = y.shape[1]
            scale = torch.exp(LOG_SCALE_LOW + out[:, :m] * LOG_SCALE_STEP)
            mean = out[:, m:] / MEAN_STEPS
            y_bits = -torch.log2(gaussian_likelihood(y_hat[sel] - mean, scale)).sum(dim=(1, 2, 3))
            z_bits = -torch.log2(self.z_densities[r].likelihood(z_noisy)).sum(dim=(1, 2, 3))
            bits[sel] = y_bits + z_bits
        if not transforms:
            return None, bits
        x_hat = self.net.g_s(y_hat * self.log_inv_gain[rates].exp()[:, :, None, None])
        return x_hat, bits

    @torch.no_grad()
    def warm_start(self, models: list[Path]) -> None:
        """The transforms and gains from the exported ``rd`` models (one per rate, ascending): the middle one's
        transforms, and per rate the per-channel ratio of its folded layers to the middle one's."""
        states = [{k.removeprefix("param/"): torch.from_numpy(v.astype(np.float32))
                   for k, v in weights.read(p)[1].items() if k.startswith("param/")} for p in models]
        mid = len(states) // 2
        self.net.load_state_dict(states[mid])
        last, first = f"g_a.{len(self.net.g_a) - 1}.weight", "g_s.0.weight"
        norm_a = [s[last].flatten(1).norm(dim=1) for s in states]
        norm_s = [s[first].flatten(1).norm(dim=1) for s in states]
        for r in range(len(states)):
            self.log_gain[r] = torch.log(norm_a[r] / norm_a[mid])
            self.log_inv_gain[r] = torch.log(norm_s[r] / norm_s[mid])

    @torch.no_grad()
    def export(self, rate: int) -> HyperpriorAutoencoder:
        """One rate as a plain model: gains folded into the last analysis and first synthesis layers."""
        m = self.net.latent_channels
        net = HyperpriorAutoencoder(self.net.g_a[0].out_channels, m, self.h_a_rest[1].in_channels)
        net.g_a.load_state_dict(self.net.g_a.state_dict())
        net.g_s.load_state_dict(self.net.g_s.state_dict())
        gain, inv = self.log_gain[rate].exp(), self.log_inv_gain[rate].exp()
        net.g_a[-1].weight.mul_(gain[:, None, None, None])
        net.g_a[-1].bias.mul_(gain)
        net.g_s[0].weight.mul_(inv[:, None, None, None])  # ConvTranspose2d weights are (in, out, kh, kw)
        net.h_a[0].load_state_dict(self.h_a_first[rate].state_dict())
        net.h_a[2].load_state_dict(self.h_a_rest[1].state_dict())
        net.h_a[4].load_state_dict(self.h_a_rest[3].state_dict())
        return net


def augment(x: torch.Tensor, rng: np.random.Generator, dark: float, permute: float) -> torch.Tensor:
    """Against the colour cast in dark regions (docs/colour_cast.md): BSDS500's dark regions are few and mostly
    warm or green, so a rate-limited decoder that spends no bits on a dark patch's colour paints the training set's
    average dark colour, and its level is coded coarsely. A share ``dark`` of the crops is darkened by a random gain
    (hue kept), and a share ``permute`` has its channels permuted, which makes the colour statistics the decoder
    learns symmetric between channels: with no bits for colour, the best guess is then neutral."""
    n = len(x)
    gains = np.where(rng.random(n) < dark, rng.uniform(0.1, 1.0, n), 1.0)
    x = x * torch.from_numpy(gains.astype(np.float32))[:, None, None, None]
    for i in np.flatnonzero(rng.random(n) < permute):
        x[i] = x[i, torch.from_numpy(rng.permutation(3))]
    return x


def save_hyper_model(path: Path, name: str, family: HyperFamily, rate: int, recipe: dict[str, Any],
                     config: dict[str, Any], lender: dict[str, str] | None = None, gains: bool = False) -> Path:
    """One rate's weight file: g_a, g_s and h_a as float16 (the shipped model is what float16 holds), h_s as
    integers, the z and y coding tables as integer counts. With ``lender`` (``{"model", "hash"}`` of the file the
    transforms come from) g_a and g_s are not stored: the file borrows them (:func:`roicodec.models.store.borrowed`).
    With ``gains`` the transforms are the family's shared ones and the file holds its rate's gains, which
    :func:`roicodec.models.store.read` folds in; without, the gains are folded in here."""
    net = family.export(rate)
    state = {k: v.detach() for k, v in net.state_dict().items()}
    if gains:
        state.update({f"g_a.{k}": v.detach() for k, v in family.net.g_a.state_dict().items()})
        state.update({f"g_s.{k}": v.detach() for k, v in family.net.g_s.state_dict().items()})
    arrays: dict[str, np.ndarray] = {f"param/{k}": v.numpy().astype(np.float16) for k, v in state.items()
                                     if lender is None or not f"param/{k}".startswith(store.TRANSFORMS)}
    if gains:
        arrays["gain/analysis"] = family.log_gain[rate].detach().exp().numpy().astype(np.float32)
        arrays["gain/synthesis"] = family.log_inv_gain[rate].detach().exp().numpy().astype(np.float32)
    z_offsets, z_freqs = family.z_densities[rate].tables()
    arrays["z_offsets"] = z_offsets
    specs, ints = family.h_s.export(rate)
    arrays.update(ints)
    s_offsets, s_freqs = gaussian_tables()
    arrays["scale_offsets"] = s_offsets
    # Each family of tables as one array and its lengths (roicodec.models.hyper_coder.read_tables): a reader then reads
    # two members, not hundreds.
    for key, freqs in (("z", z_freqs), ("scale", s_freqs)):
        arrays[f"{key}_freqs"] = np.concatenate(freqs).astype(np.uint32)
        arrays[f"{key}_lengths"] = np.array([len(f) for f in freqs], np.int32)
    meta = {"name": name, "architecture": "HyperpriorAutoencoder", "latent_channels": net.latent_channels,
            "config": config, "recipe": recipe, "h_s": specs, "scales": [float(s) for s in SCALES]}
    if lender is not None:
        meta["transforms"] = lender
    if gains:
        meta["gains"] = {"analysis": f"g_a.{len(net.g_a) - 1}", "synthesis": "g_s.0"}
    # Compressed: the 256 Gaussian tables are half the file and deflate to a fraction of it.
    return weights.write(path, arrays, meta, compressed=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.base_hyper", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/bsds500"))
    parser.add_argument("--work", type=Path, default=Path("out/hp-train"), help="checkpoints, log and the weights")
    parser.add_argument("--init-rd", type=Path, nargs="*", default=None,
                        help="rd weight files to start from, one per --lambdas (default: the shipped rd-q*.npz); "
                             "none: start from scratch")
    parser.add_argument("--iters", type=int, default=40000)
    parser.add_argument("--batch", type=int, default=8, help="crops per step, spread evenly over the rates")
    parser.add_argument("--crop", type=int, default=192)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--latent-channels", type=int, default=96)
    parser.add_argument("--hyper-channels", type=int, default=64)
    parser.add_argument("--lambdas", type=float, nargs="+", default=list(LAMBDAS))
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--hyper-lr", type=float, default=1e-3, help="step size of the hyper branch, which starts "
                        "from scratch")
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument("--freeze", type=int, default=2000, help="iterations at the start in which only the hyper "
                        "branch and the entropy models learn")
    parser.add_argument("--dark", type=float, default=0.25, help="share of crops darkened (see augment)")
    parser.add_argument("--permute", type=float, default=0.25, help="share of crops with permuted channels")
    parser.add_argument("--eval-every", type=int, default=1000)
    add_run_options(parser)
    parser.add_argument("--export-only", action="store_true", help="export the last checkpoint and stop")
    parser.add_argument("--name", default="hp", help="the family's name: files NAME-q1 ... (hp: the shipped frozen-transform "
                        "family; hp2: the joint run of stop 26)")
    args = parser.parse_args(argv)
    if sorted(args.lambdas) != args.lambdas or min(args.lambdas) <= 0:
        parser.error("--lambdas must be positive and ascending: hp-q1 is the lowest rate")

    rng = begin_run(args)
    images = load_photos(args.data)
    tests = test_photos(args.data, 12)
    family = HyperFamily(args.channels, args.latent_channels, args.hyper_channels, tuple(args.lambdas))
    transforms = {id(p) for p in family.transform_parameters()}
    hyper = [p for p in family.parameters() if id(p) not in transforms]
    optimizer = torch.optim.Adam([{"params": family.transform_parameters(), "base": args.lr},
                                  {"params": hyper, "base": args.hyper_lr}])
    # Every group's step size is flat until 85 % of the run (lr_at), the transforms' until 85 % of theirs: a run may
    # change --iters before the earlier of the two lengths gets there.
    checkpoint = Checkpoint(args.work, args.iters, lambda old, new: int(0.85 * min(old, new)))
    start, elapsed = 0, 0.0
    try:
        state = checkpoint.resume(family, optimizer, rng)
    except ValueError as exc:
        parser.error(str(exc))
    except RuntimeError:
        parser.error(f"{checkpoint.path} belongs to a run of other shapes; resume with its options or pick another "
                     "--work")
    if state is not None and state.get("lambdas") != args.lambdas:
        parser.error(f"{checkpoint.path} belongs to a run with other --lambdas")
    init: list[str] = []
    lenders: list[dict[str, str]] = []
    if state is not None:
        start, elapsed = state["iter"], state["elapsed"]
        init, lenders = state.get("init", []), state.get("lenders", [])
        print(f"resumed at iteration {start}", flush=True)
    else:
        from roicodec.models import registry

        paths = args.init_rd if args.init_rd is not None else [registry.info(f"rd-q{r + 1}").path
                                                                for r in range(len(args.lambdas))]
        if paths:
            if len(paths) != len(args.lambdas):
                parser.error(f"--init-rd takes one file per rate ({len(args.lambdas)}), got {len(paths)}")
            family.warm_start(paths)
            init = [p.name for p in paths]
            lenders = [{"model": p.stem, "hash": store.digest(p).hex()} for p in paths]
            print(f"transforms and gains from {', '.join(init)}", flush=True)

    lambdas = torch.tensor(args.lambdas)
    tic = time.monotonic() - elapsed
    slots = torch.arange(args.batch)
    with run_log(args.work) as log:
        for it in range(start, 0 if args.export_only else args.iters):
            frozen = it < args.freeze and bool(init)
            for g, group in enumerate(optimizer.param_groups):  # group 0: the transforms
                # The transforms' Adam state starts empty when they unfreeze, and Adam's first full-size steps
                # cost tenths of a dB (training.base_rd's --warmup): their warm-up counts from the unfreezing.
                held = args.freeze if g == 0 and init else 0
                group["lr"] = 0.0 if frozen and g == 0 else lr_at(it - held, args.iters - held, group["base"],
                                                                   args.warmup)
            rates = (slots + it * args.batch) % len(lambdas)
            x = augment(random_crops(images, args.crop, args.crop, rng, args.batch), rng, args.dark, args.permute)
            x_hat, bits = family(x, rates, transforms=not frozen)
            bpp = bits / (args.crop * args.crop)
            if x_hat is None:  # frozen transforms: the distortion is a constant
                loss = bpp.mean()
            else:
                mse = (x_hat - x).pow(2).mean(dim=(1, 2, 3))
                loss = (bpp + lambdas[rates] * 255 ** 2 * mse).mean()
            step(optimizer, loss, family.parameters(), clip=1.0)
            done = it + 1
            if done % 50 == 0:
                print(f"iter {done} loss {loss.item():.4f} bpp {bpp.mean().item():.3f} "
                      f"{(time.monotonic() - tic) / 60:.1f} min", flush=True)
            if done % args.eval_every == 0 or done == args.iters:
                log.write({"iter": done, "minutes": round((time.monotonic() - tic) / 60, 2),
                           "bsds_test": evaluate(family, tests)})
            if done % 200 == 0 or done == args.iters:
                checkpoint.save(family, optimizer, rng, done, time.monotonic() - tic, lambdas=args.lambdas, init=init,
                                lenders=lenders)
    state = checkpoint.load(family)
    if state is None:
        parser.error(f"nothing to export: {checkpoint.path} does not exist")
    family.eval()
    recipe: dict[str, Any] = {
        "command": " ".join(["python -m training.base_hyper", *[a for a in (argv if argv is not None else sys.argv[1:])
                                                                 if a != "--export-only"]]),
        "data": str(args.data), "splits": ["train", "val"], "images": len(images), "iters": args.iters,
        "trained_iters": state["iter"], "batch": args.batch, "crop": args.crop, "lr": args.lr,
        "hyper_lr": args.hyper_lr, "lr_step": "x0.1 after 85 % of the iterations", "warmup": args.warmup,
        "freeze": args.freeze, "augment": {"dark": args.dark, "permute": args.permute,
                                            "gain": "uniform 0.1-1"}, "init": state.get("init", []), "optimiser": "Adam, gradient norm clipped at 1",
        "lambdas": args.lambdas, "loss": "bpp(y) + bpp(z) + lambda * 255^2 * MSE", "seed": args.seed,
        "retargeted": state.get("retargeted", []),
        "threads": args.threads, "quantisation_proxy": "additive uniform noise U(-0.5, 0.5); h_s rounded "
        "straight-through", "train_minutes": round(state["elapsed"] / 60, 1), "torch": torch.__version__}
    config = {"channels": args.channels, "latent_channels": args.latent_channels,
              "hyper_channels": args.hyper_channels}
    # Transforms that never trained are the rd models' own: borrow them rather than ship a second copy. Trained
    # ones are shared by every rate: the first rate's file holds them (a reader of the default model then reads one
    # file), the others borrow them and fold in their own gains.
    share = args.freeze >= args.iters and len(lenders) == len(args.lambdas)
    holder: dict[str, str] | None = None
    for r, lam in enumerate(args.lambdas):
        name = f"{args.name}-q{r + 1}"
        path = save_hyper_model(args.work / f"{name}.npz", name, family, r, {**recipe, "lambda": lam,
                                                                             "rate_index": r}, config,
                                lenders[r] if share else holder, gains=not share)
        if not share and holder is None:
            holder = {"model": name, "hash": store.digest(path).hex()}
        print(f"wrote {path} (into the package: python -m training.export {path})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

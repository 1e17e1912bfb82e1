"""Tune the synthesis of a shipped base family on the latents its decoder really gets: a new family whose files
decode the same bitstreams better.

    python -m training.base_synthesis --family hp --name hps --work out/hps-train
    python -m training.export out/hps-train/hps-q*.npz

The ``rd`` transforms that the ``hp`` family decodes with were trained with additive uniform noise standing in for
rounding, so ``g_s`` learnt to invert a noisy latent, not the rounded one every file holds. Here each rate's ``g_a``
and its entropy models stay as shipped (so every rate codes exactly the bytes it coded before, and the encoder's
refinement, ``roicodec.models.refine``, works unchanged); only its ``g_s`` trains, on ``round(g_a(x))``, for
mean-squared error alone: with the rate fixed, distortion is the whole objective (the "decoder fine-tuning" that
learned codecs finish with, e.g. Ballé et al. 2018, sec. 4). The rates take turns, one batch each; each has its
own ``g_s``. Crops and step sizes follow ``training.base_rd``'s (BSDS500 train+val, the step a tenth after 85 %).

Each exported file is the source model's file (its hyperprior and tables, byte for byte) with its own ``g_s``, and
borrows ``g_a`` alone from the model the source borrowed its transforms from (``roicodec.models.store``: ``parts``),
pinned by that model's hash. The run checkpoints to ``--work`` and resumes from there.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from roicodec import weights
from roicodec.models import nets, registry
from training.base_hyper import augment
from training.base_rd import lr_at
from training.checkpoint import Checkpoint
from training.loop import add_run_options, begin_run, run_log, step
from training.photos import load_photos, random_crops, test_photos


class Synthesis(nn.Module):
    """Every rate's ``g_s`` (trained) beside its ``g_a`` (frozen; not a parameter, not checkpointed: it is the
    shipped one)."""

    def __init__(self, sources: list[str]) -> None:
        super().__init__()
        self.sources = sources
        built = [nets.build(*_meta_arrays(name)) for name in sources]
        self.g_s = nn.ModuleList(net.g_s for net in built)
        self._g_a = [net.g_a.requires_grad_(False).eval() for net in built]

    @torch.no_grad()
    def latent(self, rate: int, x: torch.Tensor) -> torch.Tensor:
        """What the decoder of ``rate`` gets for ``x``: ``g_a``'s output rounded."""
        return torch.round(self._g_a[rate](x))

    def forward(self, rate: int, x: torch.Tensor) -> torch.Tensor:
        return self.g_s[rate](self.latent(rate, x))


def _meta_arrays(name: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    model = registry.load(name)
    return model.meta, dict(model.arrays)


@torch.no_grad()
def evaluate(model: Synthesis, images: list[torch.Tensor]) -> list[dict[str, float]]:
    """Per rate, the PSNR of the 8-bit base (clamped and rounded, as the codec makes it) on BSDS500 test photos."""
    model.eval()
    rows = []
    for r in range(len(model.sources)):
        psnr = []
        for x in images:
            mse = torch.mean(((model(r, x).clamp(0, 1) * 255).round() - x * 255) ** 2).item()
            psnr.append(10 * np.log10(255 ** 2 / mse))
        rows.append({"rate": r, "psnr": round(float(np.mean(psnr)), 3)})
    model.train()
    return rows


def export(model: Synthesis, name: str, work: Path, recipe: dict[str, Any]) -> list[Path]:
    """One file per rate: the source's own arrays, this run's ``g_s``, and ``g_a`` borrowed from the source's
    lender (see the module's docstring)."""
    out = []
    for r, source in enumerate(model.sources):
        info = registry.info(source)
        meta, arrays = weights.open_arrays(info.path)
        lender = meta.get("transforms")
        if lender is None:
            raise SystemExit(f"{source} holds its own transforms; this exporter writes files that borrow g_a")
        own = {k: np.asarray(arrays[k]) for k in arrays if not k.startswith("param/g_s.")}
        # float16, as the segmenters ship: the shipped weights are what the bench measures, and all base models
        # together must stay within 35 MB (issue 17).
        own.update({f"param/g_s.{k}": v.detach().cpu().numpy().astype(np.float16)
                    for k, v in model.g_s[r].state_dict().items()})
        new_meta = dict(meta, name=f"{name}-q{r + 1}",
                        transforms={"model": lender["model"], "hash": lender["hash"], "parts": ["g_a"]},
                        recipe=dict(recipe, source=source, source_hash=info.hash.hex(), rate=r))
        out.append(weights.write(work / f"{name}-q{r + 1}.npz", own, new_meta, compressed=True))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.base_synthesis", description=__doc__.split("\n")[0])
    parser.add_argument("--family", default="hp", help="the shipped family whose synthesis is tuned: FAMILY-q1 ...")
    parser.add_argument("--rates", type=int, default=5)
    parser.add_argument("--name", default="hps", help="the new family's name: NAME-q1 ...")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/bsds500"))
    parser.add_argument("--work", type=Path, default=Path("out/hps-train"), help="checkpoints, log and the weights")
    parser.add_argument("--iters", type=int, default=12000, help="batches in all, the rates in turn")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=192)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--warmup", type=int, default=500, help="iterations over which the step size rises to --lr: "
                        "Adam's first steps move every parameter by about --lr, which a trained decoder feels")
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--eval-images", type=int, default=12, help="BSDS500 test photos scored at each evaluation")
    parser.add_argument("--dark", type=float, default=0.0,
                        help="share of crops darkened (training.base_hyper.augment; the shipped hps: none)")
    parser.add_argument("--permute", type=float, default=0.0,
                        help="share of crops with their channels permuted (same; the shipped hps: none)")
    parser.add_argument("--export-only", action="store_true", help="export the last checkpoint and stop")
    add_run_options(parser)
    args = parser.parse_args(argv)
    rng = begin_run(args)
    sources = [f"{args.family}-q{r}" for r in range(1, args.rates + 1)]
    model = Synthesis(sources)
    params = list(model.g_s.parameters())
    optimizer = torch.optim.Adam(params, lr=args.lr)
    # The step size depends on --iters only from 85 % of it on (base_rd.lr_at): a run may be shortened or lengthened
    # before that point.
    ckpt = Checkpoint(args.work, args.iters, lambda old, new: int(0.85 * min(old, new)))
    state = ckpt.resume(model, optimizer, rng)
    start, elapsed = (state["iter"], state["elapsed"]) if state else (0, 0.0)
    given = [a for a in (sys.argv[1:] if argv is None else argv) if a != "--export-only"]
    recipe = {"command": "python -m training.base_synthesis " + " ".join(given),
              "trainer": "training.base_synthesis", "family": args.family, "data": str(args.data),
              "splits": ["train", "val"], "iters": args.iters, "batch": args.batch, "crop": args.crop,
              "lr": args.lr, "warmup": args.warmup, "loss": "MSE of g_s(round(g_a(x))), g_a and the entropy models frozen",
              "eval_images": args.eval_images, "dark": args.dark, "permute": args.permute, "seed": args.seed,
              "threads": args.threads,
              "torch": torch.__version__}
    if ckpt.retargeted:
        recipe["retargeted"] = ckpt.retargeted
    if args.export_only:
        for path in export(model, args.name, args.work, dict(recipe, done=start)):
            print(path)
        return 0
    photos = load_photos(args.data)
    tests = test_photos(args.data, args.eval_images)
    with run_log(args.work) as log:
        if start == 0:
            log.write({"iter": 0, "minutes": 0.0, "eval": evaluate(model, tests)})
        began = time.time() - elapsed
        for it in range(start, args.iters):
            rate = it % len(sources)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(it, args.iters, args.lr, args.warmup)
            x = random_crops(photos, args.crop, args.crop, rng, args.batch)
            if args.dark or args.permute:  # not drawn otherwise: a run without them keeps the shipped run's crops
                x = augment(x, rng, args.dark, args.permute)
            loss = torch.mean((model(rate, x) - x) ** 2)
            step(optimizer, loss, params)
            done = it + 1
            if done % args.eval_every == 0 or done == args.iters:
                minutes = (time.time() - began) / 60
                log.write({"iter": done, "minutes": round(minutes, 1), "loss": round(loss.item(), 6),
                           "eval": evaluate(model, tests)})
                ckpt.save(model, optimizer, rng, done, time.time() - began)
    for path in export(model, args.name, args.work, dict(recipe, done=args.iters)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

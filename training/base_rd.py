"""Train the rate-distortion base models (``rd-q1`` ... ``rd-q5``) in one run.

    python -m training.base_rd --data ../shared/data/bsds500 --work out/rd-train
    python -m training.export out/rd-train/rd-q*.npz

The shipped models came from two runs, the second started from the first (``--init``) with a rate added below;
their cards give both commands.

One set of GDN transforms serves every rate, as in Cui et al. 2021 ("asymmetric gained" variable rate): each rate has
its own gain and inverse-gain vector on the latent and its own factorised entropy model, and each training batch
spreads its crops over the rates, so one CPU run trains the whole quality ladder. Export folds each rate's gains into
the first and last layers, so every shipped model is a plain ``FactorizedAutoencoder`` with its own integer coding
tables. Loss per crop: bits per pixel + lambda x 255^2 x MSE (CompressAI's convention, RGB in [0, 1]).

The run checkpoints to ``--work`` and resumes from there; ``--iters`` is part of the recipe (the learning-rate step
depends on it), so a resumed run must keep it.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from roicodec.models.density import FactorizedDensity
from roicodec.models.factorized import FactorizedAutoencoder
from roicodec.models.store import save_model
from training.checkpoint import Checkpoint
from training.loop import add_run_options, begin_run, run_log, set_lr, step
from training.photos import load_photos, random_crops, test_photos

LAMBDAS = (0.0009, 0.0018, 0.0035, 0.0067, 0.013)
"""CompressAI's lambdas for its qualities 1-4 (MSE on [0, 1] x 255^2) and one step below them: the low end, where a
base layer lives."""
FIRST_RUN_LAMBDAS = (0.0018, 0.0035, 0.0067, 0.013)
"""The rates of the first shipped run, whose checkpoints predate recording them."""


class GainedFamily(nn.Module):
    def __init__(self, channels: int, latent_channels: int, lambdas: tuple[float, ...]) -> None:
        super().__init__()
        self.lambdas = tuple(lambdas)
        self.net = FactorizedAutoencoder(channels, latent_channels)
        self.densities = nn.ModuleList(FactorizedDensity(latent_channels) for _ in lambdas)
        # Start the gains apart (finer quantisation for larger lambda) so the rates separate from the first steps.
        start = torch.tensor([0.5 * np.log(lam / lambdas[-1]) for lam in lambdas], dtype=torch.float32)
        self.log_gain = nn.Parameter(start[:, None].repeat(1, latent_channels))
        self.log_inv_gain = nn.Parameter(-start[:, None].repeat(1, latent_channels))

    def forward(self, x: torch.Tensor, rates: torch.Tensor, noise: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstruction and bits per crop; crop ``i`` is coded at rate ``rates[i]``."""
        y = self.net.g_a(x) * self.log_gain[rates].exp()[:, :, None, None]
        y_hat = y + torch.empty_like(y).uniform_(-0.5, 0.5) if noise else torch.round(y)
        bits = torch.zeros(len(x))
        for r in torch.unique(rates).tolist():
            sel = rates == r
            bits[sel] = -torch.log2(self.densities[r].likelihood(y_hat[sel])).sum(dim=(1, 2, 3))
        x_hat = self.net.g_s(y_hat * self.log_inv_gain[rates].exp()[:, :, None, None])
        return x_hat, bits

    @torch.no_grad()
    def warm_start(self, state: dict[str, torch.Tensor], lambdas: tuple[float, ...]) -> None:
        """Start from another family's parameters (trained for ``lambdas``): the transforms as they are, and each rate
        from the rate trained nearest to it, its gains moved by the step in lambda as the initial gains are spaced."""
        self.net.load_state_dict({k.removeprefix("net."): v for k, v in state.items() if k.startswith("net.")})
        for r, lam in enumerate(self.lambdas):
            src = min(range(len(lambdas)), key=lambda i: abs(np.log(lambdas[i] / lam)))
            prefix = f"densities.{src}."
            self.densities[r].load_state_dict({k.removeprefix(prefix): v for k, v in state.items()
                                               if k.startswith(prefix)})
            shift = 0.5 * float(np.log(lam / lambdas[src]))
            self.log_gain[r] = state["log_gain"][src] + shift
            self.log_inv_gain[r] = state["log_inv_gain"][src] - shift

    @torch.no_grad()
    def export(self, rate: int) -> FactorizedAutoencoder:
        """The plain model for one rate: its gain folded into the last analysis layer, its inverse gain into the first
        synthesis layer."""
        net = copy.deepcopy(self.net)
        gain, inv = self.log_gain[rate].exp(), self.log_inv_gain[rate].exp()
        last, first = net.g_a[-1], net.g_s[0]
        last.weight.mul_(gain[:, None, None, None])
        last.bias.mul_(gain)
        first.weight.mul_(inv[:, None, None, None])  # ConvTranspose2d weights are (in, out, kh, kw)
        return net


@torch.no_grad()
def evaluate(family: nn.Module, images: list[torch.Tensor]) -> list[dict[str, float]]:
    """Per rate, mean ideal bpp (from the entropy models, rounded latents) and PSNR on BSDS500 test images; for any
    family whose ``forward(x, rates, noise)`` gives the reconstruction and the bits (this one and
    ``training.base_hyper``'s)."""
    family.eval()
    rows = []
    for r in range(len(family.lambdas)):
        bpp, psnr = [], []
        for x in images:
            x_hat, bits = family(x, torch.tensor([r]), noise=False)
            mse = F.mse_loss((x_hat.clamp(0, 1) * 255).round(), x * 255).item()
            bpp.append(bits.item() / (x.shape[2] * x.shape[3]))
            psnr.append(10 * np.log10(255 ** 2 / mse))
        rows.append({"rate": r, "bpp": round(float(np.mean(bpp)), 4), "psnr": round(float(np.mean(psnr)), 3)})
    family.train()
    return rows


def lr_at(it: int, iters: int, lr: float, warmup: int = 0) -> float:
    """The step size: ``lr`` (reached linearly over ``warmup`` iterations), a tenth of it after 85 % of ``iters``."""
    return (lr if it < 0.85 * iters else lr / 10) * min(1.0, (it + 1) / warmup if warmup else 1.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.base_rd", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/bsds500"))
    parser.add_argument("--work", type=Path, default=Path("out/rd-train"), help="checkpoints, log and the weights")
    parser.add_argument("--iters", type=int, default=12000)
    parser.add_argument("--batch", type=int, default=8, help="crops per step, spread evenly over the rates")
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--latent-channels", type=int, default=96)
    parser.add_argument("--lambdas", type=float, nargs="+", default=list(LAMBDAS),
                        help="one rate per lambda, exported as rd-q1 (the first) upwards; ascending")
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--warmup", type=int, default=0, help="iterations over which the step size rises to --lr; "
                        "a run from --init wants some, as Adam's first steps move every parameter by about --lr")
    parser.add_argument("--eval-every", type=int, default=1000)
    add_run_options(parser)
    parser.add_argument("--init", type=Path, help="another run's checkpoint to start from (a longer schedule, or "
                        "a new lambda, without starting over)")
    parser.add_argument("--export-only", action="store_true", help="export the last checkpoint and stop")
    args = parser.parse_args(argv)
    if sorted(args.lambdas) != args.lambdas or min(args.lambdas) <= 0:
        parser.error("--lambdas must be positive and ascending: rd-q1 is the lowest rate")

    rng = begin_run(args)
    images = load_photos(args.data)
    tests = test_photos(args.data, 12)
    family = GainedFamily(args.channels, args.latent_channels, tuple(args.lambdas))
    lambdas = torch.tensor(args.lambdas)
    optimizer = torch.optim.Adam(family.parameters(), lr=args.lr)

    checkpoint = Checkpoint(args.work, args.iters)
    start, elapsed, init_iter = 0, 0.0, 0
    other_run = (f"{checkpoint.path} belongs to a run with other --lambdas, --channels or --latent-channels; "
                 "resume with those, or pick another --work")
    try:
        state = checkpoint.resume(family, optimizer, rng)
    except ValueError as exc:
        parser.error(str(exc))
    except RuntimeError:  # parameters of other shapes
        parser.error(other_run)
    if state is not None and state.get("lambdas", args.lambdas) != args.lambdas:
        parser.error(other_run)
    if state is not None:
        start, elapsed, init_iter = state["iter"], state["elapsed"], state.get("init_iter", 0)
        print(f"resumed at iteration {start}", flush=True)
    elif args.init is not None:
        if not args.init.is_file():
            parser.error(f"--init {args.init} does not exist: give a checkpoint (last.ckpt) of an earlier run")
        init = torch.load(args.init, weights_only=True)
        family.warm_start(init["model"], tuple(init.get("lambdas", FIRST_RUN_LAMBDAS)))
        elapsed, init_iter = float(init["elapsed"]), init.get("init_iter", 0) + init["iter"]
        print(f"started from {args.init} (iteration {init['iter']})", flush=True)

    tic = time.monotonic() - elapsed
    slots = torch.arange(args.batch)
    with run_log(args.work) as log:
        for it in range(start, 0 if args.export_only else args.iters):
            set_lr(optimizer, lr_at(it, args.iters, args.lr, args.warmup))
            # Rotate the rates over the batch so that each gets the same share of crops when they do not divide it.
            rates = (slots + it * args.batch) % len(lambdas)
            x = random_crops(images, args.crop, args.crop, rng, args.batch)
            x_hat, bits = family(x, rates)
            mse = (x_hat - x).pow(2).mean(dim=(1, 2, 3))
            bpp = bits / (args.crop * args.crop)
            loss = (bpp + lambdas[rates] * 255 ** 2 * mse).mean()
            step(optimizer, loss, family.parameters(), clip=1.0)
            done = it + 1
            if done % 50 == 0:
                print(f"iter {done} loss {loss.item():.4f} bpp {bpp.mean().item():.3f} "
                      f"{(time.monotonic() - tic) / 60:.1f} min", flush=True)
            if done % args.eval_every == 0 or done == args.iters:
                log.write({"iter": done, "total_iter": init_iter + done,
                           "minutes": round((time.monotonic() - tic) / 60, 2), "bsds_test": evaluate(family, tests)})
            if done % 200 == 0 or done == args.iters:
                checkpoint.save(family, optimizer, rng, done, time.monotonic() - tic, lambdas=args.lambdas,
                                init_iter=init_iter)
    state = checkpoint.load(family)
    if state is None:
        parser.error(f"nothing to export: {checkpoint.path} does not exist")
    family.eval()
    recipe: dict[str, Any] = {
        "command": " ".join(["python -m training.base_rd", *(argv if argv is not None else sys.argv[1:])]),
        "data": str(args.data), "splits": ["train", "val"], "images": len(images), "iters": args.iters,
        "trained_iters": state.get("init_iter", 0) + state["iter"], "batch": args.batch, "crop": args.crop, "lr": args.lr,
        "lr_step": "x0.1 after 85 % of the iterations", "warmup": args.warmup,
        "init": None if args.init is None else str(args.init), "optimiser": "Adam, gradient norm clipped at 1",
        "lambdas": args.lambdas, "loss": "bpp + lambda * 255^2 * MSE", "seed": args.seed,
        "threads": args.threads, "quantisation_proxy": "additive uniform noise U(-0.5, 0.5)",
        "train_minutes": round(state["elapsed"] / 60, 1), "torch": torch.__version__}
    config = {"channels": args.channels, "latent_channels": args.latent_channels}
    for r, lam in enumerate(args.lambdas):
        offsets, freqs = family.densities[r].tables()
        name = f"rd-q{r + 1}"
        path = save_model(args.work / f"{name}.npz", name, family.export(r), offsets, freqs,
                          {**recipe, "lambda": lam, "rate_index": r}, config)
        print(f"wrote {path} (into the package: python -m training.export {path})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

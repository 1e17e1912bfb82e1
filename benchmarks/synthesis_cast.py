"""Candidate syntheses against the shipped one, on the colour cast and PSNR of Kodak, from the same rounded latents.

A synthesis tuned by ``python -m training.base_synthesis`` (say with ``--dark`` and ``--permute``) is a weight file in
its work folder, not an installed model, so ``colour_cast.py`` cannot code with it. This script needs no codec: it
computes ``round(g_a(x))`` with the analysis the candidates borrow (``--analysis``, default ``hp-q1``'s) and decodes it
with each synthesis in torch, as the codec does (x255, round, clip). On Kodak (768x512, no padding, one tile) that is
the latent a file holds, so the shipped model's row repeats docs/colour_cast.md's figures. Pixels and figures are
``colour_cast.measure``'s (its ``interior`` part leaves the frame out).

    python benchmarks/synthesis_cast.py [--shipped hps-q1] [--analysis hp-q1] out/RUN/NAME-q1.npz ...
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from colour_cast import kodak, measure, region_options  # noqa: E402

from roicodec.models import nets, registry, store  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def build(path: Path) -> torch.nn.Module:
    meta, arrays = store.read(path, registry.WEIGHTS)
    return nets.build(meta, arrays).eval()


def decoder(g_a: torch.nn.Module, g_s: torch.nn.Module) -> Callable[[np.ndarray], tuple[np.ndarray, int]]:
    """``measure``'s coder: the base ``g_s`` makes of the rounded latent (no bytes: the rate is the shipped one's)."""
    @torch.no_grad()
    def code(rgb: np.ndarray) -> tuple[np.ndarray, int]:
        latent = torch.round(g_a(torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float() / 255))
        out = (g_s(latent)[0].permute(1, 2, 0).numpy() * 255).round().clip(0, 255)
        return out.astype(np.uint8), 0
    return code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("candidates", nargs="+", type=Path, help="weight files written by training.base_synthesis")
    parser.add_argument("--shipped", default="hps-q1", help="the installed model the candidates are set against")
    parser.add_argument("--analysis", default="hp-q1", help="the installed model whose g_a makes the latents")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "kodak")
    region_options(parser)
    args = parser.parse_args()
    images = kodak(args.data)
    g_a = build(registry.info(args.analysis).path).g_a
    syntheses = {args.shipped: registry.info(args.shipped).path, **{str(p): p for p in args.candidates}}
    rows = []
    for name, path in syntheses.items():
        m = measure(name, images, args.dark, args.spread, args.border, decoder(g_a, build(path).g_s))
        rows.append({"synthesis": name, "psnr": m["psnr"], "pixels": m["interior"]["pixels"],
                     "mean_error": [round(v, 2) for v in m["interior"]["mean_error"]],
                     "tint": round(m["interior"]["tint"], 2)})
    json.dump({"images": len(images), "rows": rows}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()

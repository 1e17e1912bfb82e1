"""Candidate syntheses against the shipped one, on the colour cast and PSNR of Kodak, from the same rounded latents.

A synthesis tuned by ``python -m training.base_synthesis`` (say with ``--dark`` and ``--permute``) is a weight file in
its work folder, not an installed model, so ``colour_cast.py`` cannot code with it. This script needs no codec: it
computes ``round(g_a(x))`` once per Kodak image with the analysis the candidates borrow (``--analysis``, default
``hp-q1``'s) and decodes it with each synthesis in torch, as the codec does (x255, round, clip). On Kodak (768x512, no
padding, one tile) that is the latent a file holds, so the shipped model's row repeats docs/colour_cast.md's figures.
The cast is colour_cast.py's: pixels whose channels are all below ``--dark`` and differ by less than ``--spread``,
at least ``--border`` pixels inside the image, mean signed error per channel (decoded minus original).

    python benchmarks/synthesis_cast.py [--shipped hps-q1] [--analysis hp-q1] out/RUN/NAME-q1.npz ...
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from roicodec.models import nets, registry, store

REPO = Path(__file__).resolve().parents[1]


def build(path: Path) -> torch.nn.Module:
    meta, arrays = store.read(path, registry.WEIGHTS)
    return nets.build(meta, arrays).eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("candidates", nargs="+", type=Path, help="weight files written by training.base_synthesis")
    parser.add_argument("--shipped", default="hps-q1", help="the installed model the candidates are set against")
    parser.add_argument("--analysis", default="hp-q1", help="the installed model whose g_a makes the latents")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "kodak")
    parser.add_argument("--dark", type=int, default=40)
    parser.add_argument("--spread", type=int, default=4)
    parser.add_argument("--border", type=int, default=2)
    args = parser.parse_args()
    syntheses = {args.shipped: build(registry.info(args.shipped).path).g_s,
                 **{str(p): build(p).g_s for p in args.candidates}}
    g_a = build(registry.info(args.analysis).path).g_a
    totals = {k: np.zeros(3) for k in syntheses}
    psnrs: dict[str, list[float]] = {k: [] for k in syntheses}
    count = 0
    paths = sorted(args.data.glob("kodim*.png"))
    if not paths:
        raise SystemExit(f"no kodim*.png under {args.data}: pass --data pointing at the Kodak images")
    for path in paths:
        with Image.open(path) as im:
            rgb = np.array(im.convert("RGB"))
        v = rgb.astype(np.int16)
        sel = (v.max(axis=2) < args.dark) & (v.max(axis=2) - v.min(axis=2) < args.spread)
        inside = np.zeros_like(sel)
        inside[args.border:-args.border, args.border:-args.border] = True
        sel &= inside
        count += int(sel.sum())
        with torch.no_grad():
            latent = torch.round(g_a(torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255))
            for name, g_s in syntheses.items():
                out = (g_s(latent)[0].permute(1, 2, 0).numpy() * 255).round().clip(0, 255)
                err = out - rgb
                totals[name] += err[sel].sum(axis=0)
                psnrs[name].append(float(10 * np.log10(255 ** 2 / np.mean(err ** 2))))
    rows = []
    for name in syntheses:
        mean = totals[name] / max(count, 1)
        rows.append({"synthesis": name, "psnr": round(float(np.mean(psnrs[name])), 3),
                     "mean_error": mean.round(2).tolist(), "tint": round(float(np.ptp(mean)), 2)})
    json.dump({"pixels": count, "images": len(paths), "rows": rows}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()

"""Colour cast of the base layer in dark neutral regions: the mean signed error per channel on Kodak.

A dark grey pixel that decodes green or with a raised black level is visible where a viewer looks first (shadows,
black backgrounds of micrographs). Selected pixels: every channel of the original below ``--dark`` and the spread
between its channels below ``--spread``; error = decoded base minus original, per channel, averaged over the selected
pixels of all images (each pixel weighs the same), and per image. Reported twice: over every selected pixel (the
issue's measure), and over those at least ``--border`` pixels inside the image, because many Kodak images have a
dark frame one or two pixels wide that a low-rate base blurs into its neighbours (a blur, not a cast).

Peers in the same run, at qualities whose PSNR spans the base models': Pillow's JPEG (4:2:0) and AVIF (``speed=6``).
They tell what part of the error any lossy coder at that rate makes: pixels chosen for being darker than their
surroundings come back lifted by every coder that smooths (regression to the mean), whereas a difference between the
channels (``tint``: the largest channel's mean error minus the smallest's) is a colour cast proper.

    python benchmarks/colour_cast.py [--models rd-q1 hp-q1 ...] [--jpeg 5,10,20,40] [--avif 15,30,45]
                                     [--refine STEPS] [--out docs/results/colour_cast.json]
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
import pages  # noqa: E402

import roicodec  # noqa: E402
from roicodec.bench import codecs  # noqa: E402
from roicodec.metrics import psnr  # noqa: E402
from roicodec.models import registry  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def neutral_dark(rgb: np.ndarray, dark: int, spread: int) -> np.ndarray:
    v = rgb.astype(np.int16)
    return (v.max(axis=2) < dark) & (v.max(axis=2) - v.min(axis=2) < spread)


def base_layer(model: str, refine: int = 0) -> Callable[[np.ndarray], tuple[np.ndarray, int]]:
    def code(rgb: np.ndarray) -> tuple[np.ndarray, int]:
        data = roicodec.encode(rgb, qualities=(), model=model, refine=refine)
        with roicodec.open(io.BytesIO(data)) as f:
            return f.decode(0), len(data)
    return code


def peer(codec: codecs.PillowCodec, quality: int) -> Callable[[np.ndarray], tuple[np.ndarray, int]]:
    """A peer at one quality, with the bench's own settings (``roicodec.bench.codecs``)."""
    def code(rgb: np.ndarray) -> tuple[np.ndarray, int]:
        (stream,) = codec.encode(rgb, np.ones(rgb.shape[:2], bool), quality)
        return codec.decode(stream), len(stream.data)
    return code


def measure(model: str, images: list[tuple[str, np.ndarray]], dark: int, spread: int, border: int,
            code: Callable[[np.ndarray], tuple[np.ndarray, int]], kind: str = "base") -> dict:
    totals = {"all": np.zeros(3), "interior": np.zeros(3)}
    counts = {"all": 0, "interior": 0}
    per_image, psnrs, bpps = [], [], []
    for name, rgb in images:
        sel = neutral_dark(rgb, dark, spread)
        if not sel.any():
            continue
        inside = np.zeros_like(sel)
        inside[border:-border, border:-border] = True
        base, size = code(rgb)
        err = base.astype(np.float64) - rgb
        psnrs.append(psnr(rgb, base))
        bpps.append(size * 8 / (rgb.shape[0] * rgb.shape[1]))
        for part, where in (("all", sel), ("interior", sel & inside)):
            totals[part] += err[where].sum(axis=0)
            counts[part] += int(where.sum())
        per_image.append({"image": name, "pixels": int(sel.sum()), "mean_error": err[sel].mean(axis=0).round(2).tolist()})
    out: dict = {"model": model, "kind": kind, "images": len(per_image), "psnr": round(float(np.mean(psnrs)), 3),
                 "bpp": round(float(np.mean(bpps)), 4), "per_image": per_image}
    for part in totals:
        mean = totals[part] / max(counts[part], 1)
        out[part] = {"pixels": counts[part], "mean_error": mean.round(3).tolist(),
                     "worst_channel": float(np.abs(mean).max().round(3)), "tint": float(np.ptp(mean).round(3))}
    return out


def region_options(parser: argparse.ArgumentParser) -> None:
    """The pixels measured: near-neutral dark ones (every channel under ``--dark``, channel spread under
    ``--spread``), away from ``--border`` pixels of other content."""
    parser.add_argument("--dark", type=int, default=40)
    parser.add_argument("--spread", type=int, default=4)
    parser.add_argument("--border", type=int, default=2)


def kodak(folder: Path) -> list[tuple[str, np.ndarray]]:
    """Every ``kodim*.png`` under ``folder`` as (stem, 8-bit RGB), in name order."""
    images = []
    for path in sorted(folder.glob("kodim*.png")):
        with Image.open(path) as im:
            images.append((path.stem, np.asarray(im.convert("RGB"))))
    if not images:
        raise SystemExit(f"no kodim*.png under {folder}: pass --data pointing at the Kodak images")
    return images


def main() -> None:
    begun = pages.begin()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "kodak")
    parser.add_argument("--models", nargs="+", default=None, help="default: every installed base model")
    region_options(parser)
    parser.add_argument("--jpeg", default="5,10,20,40", help="Pillow JPEG qualities to measure beside the models")
    parser.add_argument("--avif", default="15,30,45", help="Pillow AVIF qualities (speed 6)")
    parser.add_argument("--refine", type=int, default=0, metavar="STEPS",
                        help="code the base models with refine=STEPS (hp models; docs/refine.md)")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    images = kodak(args.data)
    models = args.models or sorted(registry.available())
    result = {"dark_below": args.dark, "spread_below": args.spread, "border": args.border, "target_abs": 1.0,
              "models": [measure(f"{m} refine={args.refine}" if args.refine else m, images, args.dark, args.spread,
                                 args.border, base_layer(m, args.refine)) for m in models]}
    for fmt, codec, qualities in (("JPEG", codecs.jpeg(), args.jpeg), ("AVIF", codecs.avif(), args.avif)):
        for q in (int(v) for v in qualities.split(",") if v):
            result["models"].append(measure(f"{fmt} q{q}", images, args.dark, args.spread, args.border,
                                            peer(codec, q), "peer"))
    result["meta"] = pages.meta("colour_cast.py", sys.argv[1:], begun)
    for m in result["models"]:
        for part in ("all", "interior"):
            e = m[part]["mean_error"]
            print(f"{m['model']:10s} {part:8s} {m[part]['pixels']:7d} px  mean error R G B "
                  f"{e[0]:+.2f} {e[1]:+.2f} {e[2]:+.2f}  tint {m[part]['tint']:.2f}  ({m['psnr']:.2f} dB, "
                  f"{m['bpp']:.3f} bpp)")
    if args.out:
        pages.write(args.out, result)


if __name__ == "__main__":
    main()

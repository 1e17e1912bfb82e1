"""Colour cast of the base layer in dark neutral regions: the mean signed error per channel on Kodak.

A dark grey pixel that decodes green or with a raised black level is visible where a viewer looks first (shadows,
black backgrounds of micrographs). Selected pixels: every channel of the original below ``--dark`` and the spread
between its channels below ``--spread``; error = decoded base minus original, per channel, averaged over the selected
pixels of all images (each pixel weighs the same), and per image (its range is reported).

    python benchmarks/colour_cast.py [--models rd-q1 hp-q1 ...] [--out docs/results/colour_cast.json]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
import pages  # noqa: E402

import roicodec  # noqa: E402
from roicodec.models import registry  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def neutral_dark(rgb: np.ndarray, dark: int, spread: int) -> np.ndarray:
    v = rgb.astype(np.int16)
    return (v.max(axis=2) < dark) & (v.max(axis=2) - v.min(axis=2) < spread)


def measure(model: str, images: list[tuple[str, np.ndarray]], dark: int, spread: int) -> dict:
    total, count, per_image = np.zeros(3), 0, []
    for name, rgb in images:
        sel = neutral_dark(rgb, dark, spread)
        if not sel.any():
            continue
        data = roicodec.encode(rgb, qualities=(), model=model)
        with roicodec.open(io.BytesIO(data)) as f:
            base = f.decode(0)
        err = base[sel].astype(np.float64) - rgb[sel]
        total += err.sum(axis=0)
        count += int(sel.sum())
        per_image.append({"image": name, "pixels": int(sel.sum()), "mean_error": err.mean(axis=0).round(3).tolist()})
    mean = total / max(count, 1)
    return {"model": model, "pixels": count, "images": len(per_image), "mean_error": mean.round(3).tolist(),
            "worst_channel": float(np.abs(mean).max().round(3)), "per_image": per_image}


def main() -> None:
    begun = pages.begin()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "kodak")
    parser.add_argument("--models", nargs="+", default=None, help="default: every installed base model")
    parser.add_argument("--dark", type=int, default=40)
    parser.add_argument("--spread", type=int, default=4)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    images = []
    for path in sorted(args.data.glob("kodim*.png")):
        with Image.open(path) as im:
            images.append((path.stem, np.asarray(im.convert("RGB"))))
    if not images:
        raise SystemExit(f"no kodim*.png under {args.data}: pass --data pointing at the Kodak images")
    models = args.models or sorted(registry.available())
    result = {"dark_below": args.dark, "spread_below": args.spread, "target_abs": 1.0,
              "models": [measure(m, images, args.dark, args.spread) for m in models]}
    result["meta"] = pages.meta("colour_cast.py", sys.argv[1:], begun)
    for m in result["models"]:
        print(f"{m['model']:10s} {m['pixels']:8d} px in {m['images']:2d} images  mean error R G B "
              f"{m['mean_error'][0]:+.2f} {m['mean_error'][1]:+.2f} {m['mean_error'][2]:+.2f}")
    if args.out:
        pages.write(args.out, result)


if __name__ == "__main__":
    main()

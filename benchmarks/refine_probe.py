"""A quick comparison of refinement settings on a few images: how the picture term sees the latent (rounded, as
shipped, or noisy, as training relaxes it) and the size of the first step, each against the plain files of the same
images, for the table of probes in docs/refine.md. A probe, not a result: the full-size Kodak figures are
``benchmarks/refine.py``'s.

Each setting: the base-only file of every image at hp-q1, hp-q3 and hp-q5 (``roicodec.encode(image, qualities=(),
model=m, refine=steps)``), its mean bpp and PSNR, and the PSNR BD-rate of those three points against the plain
files' (``roicodec.bench.analysis.bd``).

    python benchmarks/refine_probe.py --images kodim05,kodim20 --settings rounded:0.01:30,noisy:0.01:30
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

import roicodec
import roicodec.models.refine as refine
from roicodec.bench.analysis import bd
from roicodec.metrics import psnr

REPO = Path(__file__).resolve().parents[1]
MODELS = ("hp-q1", "hp-q3", "hp-q5")


def curve(images: list[np.ndarray], steps: int) -> list[dict]:
    points = []
    for model in MODELS:
        rows = []
        for image in images:
            data = roicodec.encode(image, qualities=(), model=model, refine=steps)
            rows.append((len(data) * 8 / (image.shape[0] * image.shape[1]), psnr(image, roicodec.decode(data, 0))))
        points.append({"model": model, "bpp": float(np.mean([r[0] for r in rows])),
                       "psnr": float(np.mean([r[1] for r in rows]))})
    return points


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "kodak")
    ap.add_argument("--images", default="kodim05,kodim20", help="comma-separated stems")
    ap.add_argument("--settings", default="rounded:0.01:30,noisy:0.01:30",
                    help="comma-separated PICTURE:FIRST_STEP:STEPS, PICTURE rounded or noisy")
    args = ap.parse_args(argv)
    images = [np.asarray(Image.open(args.data / f"{n}.png").convert("RGB")) for n in args.images.split(",")]
    shipped = refine.refine
    plain = curve(images, 0)
    out = {"images": args.images.split(","), "plain": plain, "settings": []}
    try:
        for setting in args.settings.split(","):
            picture, first, steps = setting.split(":")
            refine.refine = partial(shipped, picture=picture, first_step=float(first))
            tic = time.monotonic()
            points = curve(images, int(steps))
            out["settings"].append({"picture": picture, "first_step": float(first), "steps": int(steps),
                                    "bd_rate_psnr_vs_plain": bd(plain, points, "psnr")["bd_rate"], "points": points,
                                    "seconds": round(time.monotonic() - tic)})
            print(json.dumps({k: v for k, v in out["settings"][-1].items() if k != "points"}), flush=True)
    finally:
        refine.refine = shipped
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

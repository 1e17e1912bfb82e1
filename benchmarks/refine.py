"""What refining the base's latent buys: the hp family coded plainly and with ``refine=STEPS``, in the same run,
with Pillow's JPEG as the anchor (docs/base_layer.md, "Refining the latent").

Each image, each hp model: a base-only file (``roicodec.encode(image, qualities=(), model=m, refine=s)``), its bytes
and its PSNR against the image (8-bit RGB, peak 255, per image, then averaged: docs/measures.md), and its encode time
(one run each; a rate table, not a speed benchmark). BD-rates with the ``bjontegaard`` package (PCHIP) through
``roicodec.bench.analysis.bd``, as ``roicodec bench`` computes them.

    python benchmarks/refine.py [--data ../shared/data/kodak] [--steps 30] [--limit N] [--out docs/results/refine.json]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
import pages  # noqa: E402

import roicodec  # noqa: E402
from roicodec.bench.analysis import bd  # noqa: E402
from roicodec.metrics import psnr  # noqa: E402
from roicodec.models import registry  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
JPEG_QUALITIES = (2, 3, 4, 5, 10, 20, 35, 50, 75, 90)
"""``roicodec bench``'s JPEG qualities up to 90 (the hp family ends near JPEG 50's quality)."""


def _point(rows: list[dict]) -> dict:
    return {"bpp": float(np.mean([r["bpp"] for r in rows])), "psnr": float(np.mean([r["psnr"] for r in rows])),
            "encode_s": float(np.median([r["encode_s"] for r in rows]))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "kodak")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--limit", type=int, help="the first N images only (a quick look, not a result)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    paths = sorted(args.data.glob("*.png"))[:args.limit]
    models = [m for m in registry.available() if m.startswith("hp-q")]
    begun, tic = pages.begin(), time.monotonic()
    rows: dict[str, list[dict]] = {}
    for path in paths:
        image = np.asarray(Image.open(path).convert("RGB"))
        pixels = image.shape[0] * image.shape[1]
        for q in JPEG_QUALITIES:
            buf = io.BytesIO()
            Image.fromarray(image).save(buf, "JPEG", quality=q)
            decoded = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
            rows.setdefault(f"jpeg:{q}", []).append({"bpp": buf.tell() * 8 / pixels, "psnr": psnr(image, decoded),
                                                    "encode_s": 0.0})
        for model in models:
            for steps in (0, args.steps):
                t = time.perf_counter()
                data = roicodec.encode(image, qualities=(), model=model, refine=steps)
                took = time.perf_counter() - t
                rows.setdefault(f"{model}:{steps}", []).append(
                    {"bpp": len(data) * 8 / pixels, "psnr": psnr(image, roicodec.decode(data, 0)), "encode_s": took})
        print(f"{path.name} done, {time.monotonic() - tic:.0f} s", flush=True)
    points = {k: _point(v) for k, v in rows.items()}
    jpeg = [points[f"jpeg:{q}"] for q in JPEG_QUALITIES]
    plain = [points[f"{m}:0"] for m in models]
    refined = [points[f"{m}:{args.steps}"] for m in models]
    result = {
        "meta": pages.meta("refine.py", sys.argv[1:] if argv is None else argv, begun),
        "images": [p.name for p in paths], "steps": args.steps, "models": models, "points": points,
        "bd_rate_psnr": {"plain_vs_jpeg": bd(jpeg, plain, "psnr"), "refined_vs_jpeg": bd(jpeg, refined, "psnr"),
                         "refined_vs_plain": bd(plain, refined, "psnr")},
    }
    if args.out:
        pages.write(args.out, result)
    summary = {k: None if v["bd_rate"] is None else round(v["bd_rate"], 2) for k, v in result["bd_rate_psnr"].items()}
    print(json.dumps({"bd_rate_psnr": summary, "encode_s": {k: round(v["encode_s"], 2) for k, v in points.items()
                                                            if not k.startswith("jpeg")}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What refining the base's latent buys: the hp family coded plainly and with ``refine=STEPS``, in the same run as
Pillow's JPEG (the anchor), AVIF and JPEG 2000 (``mct=1``), with ``roicodec bench``'s settings for each
(docs/refine.md).

Each image, each hp model: a base-only file (``roicodec.encode(image, qualities=(), model=m, refine=s)``), its bytes,
its PSNR and MS-SSIM against the image (8-bit RGB, per image, then averaged: docs/measures.md), and its encode time
(one run each; a rate table, not a speed benchmark). The peers are ``roicodec.bench.codecs``' own (JPEG qualities 2
to 100, AVIF speed 6 at qualities 0 to 95, JPEG 2000 with 8 quality layers): the curves ``roicodec bench`` draws.
BD-rates with the ``bjontegaard`` package (PCHIP) through ``roicodec.bench.analysis.bd``, as ``roicodec bench``
computes them, each codec against JPEG over the quality range the two share.

    python benchmarks/refine.py [--data ../shared/data/kodak] [--steps 30] [--limit N] [--out docs/results/refine.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
import pages  # noqa: E402

import roicodec  # noqa: E402
from roicodec.bench import codecs  # noqa: E402
from roicodec.bench.analysis import bd  # noqa: E402
from roicodec.metrics import ms_ssim, psnr  # noqa: E402
from roicodec.models import registry  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
METRICS = ("psnr", "ms_ssim")


def _point(rows: list[dict]) -> dict:
    return {"bpp": float(np.mean([r["bpp"] for r in rows])), "psnr": float(np.mean([r["psnr"] for r in rows])),
            "ms_ssim": float(np.mean([r["ms_ssim"] for r in rows])),
            "encode_s": float(np.median([r["encode_s"] for r in rows]))}


def _row(image: np.ndarray, data: bytes, decoded: np.ndarray, took: float) -> dict:
    return {"bpp": len(data) * 8 / (image.shape[0] * image.shape[1]), "psnr": psnr(image, decoded),
            "ms_ssim": ms_ssim(image, decoded), "encode_s": took}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "kodak")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--limit", type=int, help="the first N images only (a quick look, not a result)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    paths = sorted(args.data.glob("*.png"))[:args.limit]
    models = [m for m in registry.available() if m.startswith("hp-q")]
    peers = [codecs.jpeg(), codecs.avif(), codecs.Jpeg2000()]
    begun, tic = pages.begin(), time.monotonic()
    rows: dict[str, list[dict]] = {}
    for path in paths:
        image = np.asarray(Image.open(path).convert("RGB"))
        for peer in peers:
            for job in peer.jobs:
                for stream in peer.encode(image, np.zeros(image.shape[:2], bool), job):
                    rows.setdefault(f"{peer.name}:{stream.setting}", []).append(
                        _row(image, stream.data, peer.decode(stream), 0.0))
        for model in models:
            for steps in (0, args.steps):
                t = time.perf_counter()
                data = roicodec.encode(image, qualities=(), model=model, refine=steps)
                took = time.perf_counter() - t
                rows.setdefault(f"{model}:{steps}", []).append(_row(image, data, roicodec.decode(data, 0), took))
        print(f"{path.name} done, {time.monotonic() - tic:.0f} s", flush=True)
    points = {k: _point(v) for k, v in rows.items()}
    curves = {peer.name: [points[k] for k in points if k.startswith(f"{peer.name}:")] for peer in peers}
    curves["hp"] = [points[f"{m}:0"] for m in models]
    curves[f"hp refine={args.steps}"] = [points[f"{m}:{args.steps}"] for m in models]
    jpeg = curves.pop("jpeg")
    bd_rates = {metric: {name: bd(jpeg, curve, metric) for name, curve in curves.items()} for metric in METRICS}
    gain = {metric: bd(curves["hp"], curves[f"hp refine={args.steps}"], metric) for metric in METRICS}
    result = {
        "meta": pages.meta("refine.py", sys.argv[1:] if argv is None else argv, begun),
        "images": [p.name for p in paths], "steps": args.steps, "models": models,
        "peers": {peer.name: peer.description for peer in peers}, "points": points,
        "bd_rate_vs_jpeg": bd_rates, "bd_rate_refined_vs_plain": gain,
    }
    if args.out:
        pages.write(args.out, result)
    summary = {metric: {k: None if v["bd_rate"] is None else round(v["bd_rate"], 2) for k, v in table.items()}
               for metric, table in bd_rates.items()}
    summary["refined_vs_plain"] = {m: None if v["bd_rate"] is None else round(v["bd_rate"], 2) for m, v in gain.items()}
    print(json.dumps({"bd_rate_vs_jpeg": summary, "encode_s": {k: round(v["encode_s"], 2) for k, v in points.items()
                                                               if k.startswith("hp-q")}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

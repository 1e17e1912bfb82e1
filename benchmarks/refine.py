"""What refining the base's latent buys: a hyperprior family (``hp``, or ``--family hps``) coded plainly and with
``refine=STEPS``, in the same run as
Pillow's JPEG (the anchor), AVIF and JPEG 2000 (``mct=1``), with ``roicodec bench``'s settings for each
(docs/refine.md).

Each image, each hp model: a base-only file (``roicodec.encode(image, qualities=(), model=m, refine=s)``), its bytes,
its PSNR and MS-SSIM against the image (8-bit RGB, per image, then averaged: docs/measures.md), and its encode time
(one run each; a rate table, not a speed benchmark). The peers are ``roicodec.bench.codecs``' own (JPEG qualities 2
to 100, AVIF speed 6 at qualities 0 to 95, JPEG 2000 with 8 quality layers): the curves ``roicodec bench`` draws.
BD-rates with the ``bjontegaard`` package (PCHIP) through ``roicodec.bench.analysis.bd``, as ``roicodec bench``
computes them: each codec against JPEG over the quality range the two share, and the hp family head to head against
AVIF and JPEG 2000 over its own range.

    python benchmarks/refine.py [--data ../shared/data/kodak] [--steps 30] [--family hp] [--limit N]
                                [--out docs/results/refine.json]
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
from roicodec.metrics import ms_ssim, ms_ssim_db, psnr  # noqa: E402
from roicodec.models import registry  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
METRICS = ("psnr", "ms_ssim_db")
"""As ``roicodec bench`` compares them: PSNR, and MS-SSIM in dB (``-10 log10(1 - MS-SSIM)`` of the mean)."""


def _point(rows: list[dict]) -> dict:
    mean = float(np.mean([r["ms_ssim"] for r in rows]))
    return {"bpp": float(np.mean([r["bpp"] for r in rows])), "psnr": float(np.mean([r["psnr"] for r in rows])),
            "ms_ssim": mean, "ms_ssim_db": ms_ssim_db(mean),
            "encode_s": float(np.median([r["encode_s"] for r in rows]))}


def _row(image: np.ndarray, data: bytes, decoded: np.ndarray, took: float) -> dict:
    return {"bpp": len(data) * 8 / (image.shape[0] * image.shape[1]), "psnr": psnr(image, decoded),
            "ms_ssim": ms_ssim(image, decoded), "encode_s": took}


def peers() -> list:
    """JPEG (the anchor, first), AVIF and JPEG 2000, as ``roicodec bench`` codes them."""
    return [codecs.jpeg(), codecs.avif(), codecs.Jpeg2000()]


def measure(paths: list[Path], models: list[str], steps: int) -> dict[str, dict]:
    """Every codec's mean point over ``paths``: ``"codec:setting"`` for the peers, ``"model:steps"`` for the family."""
    rows: dict[str, list[dict]] = {}
    tic = time.monotonic()
    for path in paths:
        image = np.asarray(Image.open(path).convert("RGB"))
        for peer in peers():
            for job in peer.jobs:
                for stream in peer.encode(image, np.zeros(image.shape[:2], bool), job):
                    rows.setdefault(f"{peer.name}:{stream.setting}", []).append(
                        _row(image, stream.data, peer.decode(stream), 0.0))
        for model in models:
            for s in (0, steps):
                t = time.perf_counter()
                data = roicodec.encode(image, qualities=(), model=model, refine=s)
                took = time.perf_counter() - t
                rows.setdefault(f"{model}:{s}", []).append(_row(image, data, roicodec.decode(data, 0), took))
        print(f"{path.name} done, {time.monotonic() - tic:.0f} s", flush=True)
    return {k: _point(v) for k, v in rows.items()}


def compare(points: dict[str, dict], models: list[str], steps: int, family: str = "hp") -> dict[str, dict]:
    """BD-rates against JPEG of each curve, and of the refined family against the plain one."""
    for point in points.values():  # points of runs before MS-SSIM in dB was kept
        point.setdefault("ms_ssim_db", ms_ssim_db(point["ms_ssim"]))
    curves = {c.name: [p for k, p in points.items() if k.startswith(f"{c.name}:")] for c in peers()}
    curves[family] = [points[f"{m}:0"] for m in models]
    curves[f"{family} refine={steps}"] = [points[f"{m}:{steps}"] for m in models]
    jpeg = curves.pop("jpeg")
    ours = (family, f"{family} refine={steps}")
    return {"bd_rate_vs_jpeg": {metric: {name: bd(jpeg, curve, metric) for name, curve in curves.items()}
                                for metric in METRICS},
            # Against JPEG each codec is measured over the range it shares with JPEG: AVIF's and JPEG 2000's reach
            # 43 dB, the hp family's ends near 31. Head to head, over the hp family's own range, is the comparison
            # a user choosing between them at these rates makes.
            "bd_rate_vs_peers": {metric: {f"{name} vs {peer}": bd(curves[peer], curves[name], metric)
                                          for name in ours for peer in ("avif", "jpeg2000")} for metric in METRICS},
            "bd_rate_refined_vs_plain": {metric: bd(curves[family], curves[f"{family} refine={steps}"], metric)
                                         for metric in METRICS}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "kodak")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--family", default="hp", help="the hyperprior family: its models FAMILY-q1 ...")
    ap.add_argument("--limit", type=int, help="the first N images only (a quick look, not a result)")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--report-only", action="store_true",
                    help="recompute the BD-rates from the points already in --out (its run's meta kept)")
    args = ap.parse_args(argv)
    if args.report_only:
        if args.out is None:
            ap.error("--report-only reads --out")
        result = json.loads(args.out.read_text())
        result.pop("bd_rate_psnr", None)  # the form of runs before the peers
    else:
        paths = sorted(args.data.glob("*.png"))[:args.limit]
        models = sorted((m for m in registry.available() if m.startswith(f"{args.family}-q")),
                        key=lambda m: int(m.rsplit("-q", 1)[1]))
        if not models:
            ap.error(f"no {args.family}-q model is installed")
        begun = pages.begin()
        points = measure(paths, models, args.steps)
        result = {"meta": pages.meta("refine.py", sys.argv[1:] if argv is None else argv, begun),
                  "images": [p.name for p in paths], "steps": args.steps, "family": args.family, "models": models,
                  "peers": {peer.name: peer.description for peer in peers()},
                  "points": points}
    # Runs before --family coded the hp family.
    family = result.get("family", "hp")
    result.update(compare(result["points"], result["models"], result["steps"], family))
    if args.out:
        pages.write(args.out, result)
    def value(entry: dict) -> float | None:
        return None if entry["bd_rate"] is None else round(entry["bd_rate"], 2)

    summary = {"bd_rate_vs_jpeg": {metric: {k: value(v) for k, v in table.items()}
                                   for metric, table in result["bd_rate_vs_jpeg"].items()},
               "bd_rate_vs_peers": {metric: {k: value(v) for k, v in table.items()}
                                    for metric, table in result["bd_rate_vs_peers"].items()},
               "bd_rate_refined_vs_plain": {metric: value(v)
                                            for metric, v in result["bd_rate_refined_vs_plain"].items()}}
    print(json.dumps({**summary, "encode_s": {k: round(v["encode_s"], 2) for k, v in result["points"].items()
                                               if k.startswith(f"{family}-q")}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

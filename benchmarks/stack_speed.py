"""Encode and decode time of a stack of many small planes: 100 planes of 64x64, gray, a mask per plane.

Small planes make the per-plane overhead visible (model lookup, tile setup, chunk bookkeeping), which large planes
hide behind their convolutions. Pillow's JPEG of the same planes at quality 90 runs in the same process as the
peer, so that the ratio holds on a loaded machine too. Prints JSON; with ``--out`` also writes it there.

    python benchmarks/stack_speed.py [--planes 100] [--side 64] [--runs 5] [--out docs/results/stack_speed.json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

import roicodec

SAMPLE = Path(__file__).parents[1] / "src" / "roicodec" / "samples" / "astronaut.png"


def _planes(count: int, side: int) -> tuple[np.ndarray, np.ndarray]:
    gray = np.asarray(Image.open(SAMPLE).convert("L"))
    rng = np.random.default_rng(0)
    ys = rng.integers(0, gray.shape[0] - side, count)
    xs = rng.integers(0, gray.shape[1] - side, count)
    planes = np.stack([gray[y:y + side, x:x + side] for y, x in zip(ys, xs)])
    yy, xx = np.mgrid[:side, :side]
    masks = np.stack([(yy - side / 2) ** 2 + (xx - side / 2 - i % 8) ** 2 < (side / 3) ** 2 for i in range(count)])
    return planes, masks


def _median(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _jpeg_round_trip(planes: np.ndarray) -> None:
    for plane in planes:
        buf = io.BytesIO()
        Image.fromarray(plane).save(buf, "JPEG", quality=90)
        np.asarray(Image.open(io.BytesIO(buf.getvalue())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--planes", type=int, default=100)
    parser.add_argument("--side", type=int, default=64)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    planes, masks = _planes(args.planes, args.side)
    data = roicodec.encode(planes, masks)  # warm: the model loads once per process, not per run
    roicodec.decode(data)
    encode_s = _median(lambda: roicodec.encode(planes, masks), args.runs)
    decode_s = _median(lambda: roicodec.decode(data), args.runs)
    jpeg_s = _median(lambda: _jpeg_round_trip(planes), args.runs)
    result = {
        "planes": args.planes, "side": args.side, "runs": args.runs, "bytes": len(data),
        "encode_s": round(encode_s, 4), "decode_s": round(decode_s, 4),
        "jpeg_q90_encode_decode_s": round(jpeg_s, 4),
        "encode_decode_per_plane_ms": round((encode_s + decode_s) / args.planes * 1e3, 2),
        "ratio_to_jpeg": round((encode_s + decode_s) / jpeg_s, 1),
        "threads": int(os.environ.get("OMP_NUM_THREADS", "0")) or None, "load_at_start": os.getloadavg()[0],
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

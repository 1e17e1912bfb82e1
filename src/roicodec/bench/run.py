"""The sweep: every image x size x codec x operating point, measured and written as one JSON line each.

A row holds the stream's bytes and bpp (all bytes, docs/measures.md), PSNR and SSIM over the whole image and over the
ROI, MS-SSIM over the whole image (null on images under 161 pixels a side, too small for its five scales), and the
time to encode (the whole encoding that made the stream: for a layered codec every level shares it) and
to decode that operating point from its own bytes. Times here are single runs on a shared machine: the speed table
comes from ``speed.py``, not from these.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from roicodec import metrics
from roicodec.bench.codecs import Codec
from roicodec.bench.data import Item


def _finite(value: float) -> float | None:
    """JSON has no infinity: an exact reconstruction (infinite PSNR) is written as null."""
    return value if np.isfinite(value) else None


def measure(item: Item, codec: Codec) -> list[dict[str, Any]]:
    """The rows of one image at one size through one codec."""
    h, w = item.rgb.shape[:2]
    multiscale = min(h, w) >= metrics.ms_ssim_min_side()
    rows = []
    for job in codec.jobs:
        start = time.perf_counter()
        streams = codec.encode(item.rgb, item.mask, job)
        encode_s = time.perf_counter() - start
        since = None  # the previous level's pixels and SSIM map: a level that refines the ROI re-scores the ROI only
        for stream in streams:
            start = time.perf_counter()
            decoded = codec.decode(stream)
            decode_s = time.perf_counter() - start
            smap = metrics.ssim_map(item.rgb, decoded, since)
            since = decoded, smap
            rows.append({
                "size": item.size, "image": item.name, "width": w, "height": h, "codec": codec.name,
                "setting": stream.setting, "level": stream.level, "bytes": len(stream.data),
                "bpp": metrics.bpp(len(stream.data), w, h),
                "psnr": _finite(metrics.psnr(item.rgb, decoded)),
                "roi_psnr": _finite(metrics.psnr(item.rgb, decoded, item.mask)),
                "ssim": metrics.masked_mean(smap), "roi_ssim": metrics.masked_mean(smap, item.mask),
                "ms_ssim": metrics.ms_ssim(item.rgb, decoded) if multiscale else None,
                "roi_fraction": float(np.mean(item.mask)), "encode_s": encode_s, "decode_s": decode_s,
            })
    return rows


def sweep(items: Iterable[Item], codecs: Sequence[Codec], out: IO[str], log: IO[str] = sys.stderr) -> int:
    """Write the rows of every item through every codec to ``out``, one JSON object a line; return the row count."""
    count = 0
    for item in items:
        start = time.perf_counter()
        for codec in codecs:
            for row in measure(item, codec):
                out.write(json.dumps(row, allow_nan=False) + "\n")
                count += 1
        out.flush()
        print(f"  {item.size:>8} {item.name}: {time.perf_counter() - start:.1f} s", file=log, flush=True)
    return count


def read_rows(path: Path) -> list[dict[str, Any]]:
    with path.open() as f:
        return [json.loads(line) for line in f if line.strip()]

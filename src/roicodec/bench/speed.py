"""Encode and decode speed in megapixels per second, every codec in the same run, medians of several runs.

Runs are interleaved (each repeat times every codec on every image before the next repeat starts), so that a
background load that comes and goes on a shared machine slows every codec alike. A codec's time on an image is the
median of its repeats; its speed is the pixels of all images over the sum of those medians.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from typing import IO, Any

from roicodec.bench.codecs import AVIF_SPEED, WEBP_METHOD, Codec, Jpeg2000, PillowCodec, Roicodec
from roicodec.bench.data import Item

SPEED_QUALITY = 75
"""Pillow's default JPEG quality, and the same knob value for WebP and AVIF."""


def speed_codecs() -> list[tuple[Codec, Any, str]]:
    """Each timed codec with the job it encodes and what decoding it means."""
    j2k = Jpeg2000()
    return [
        (Roicodec(), None, "the whole file: base and 3 layers; decode of the top level"),
        (PillowCodec("jpeg", "JPEG", (SPEED_QUALITY,)), SPEED_QUALITY, f"quality {SPEED_QUALITY}"),
        (j2k, j2k.jobs[0], f"{len(j2k.targets_bpp)} quality layers up to {j2k.targets_bpp[-1]} bpp; decode of all "
                           "layers"),
        (PillowCodec("webp", "WEBP", (SPEED_QUALITY,), {"method": WEBP_METHOD}), SPEED_QUALITY,
         f"quality {SPEED_QUALITY}, `method={WEBP_METHOD}`"),
        (PillowCodec("avif", "AVIF", (SPEED_QUALITY,), {"speed": AVIF_SPEED}), SPEED_QUALITY,
         f"quality {SPEED_QUALITY}, `speed={AVIF_SPEED}`"),
    ]


def measure(items: Sequence[Item], repeats: int, log: IO[str] = sys.stderr) -> list[dict[str, Any]]:
    """One row per codec: MP/s to encode and to decode, with how it was measured."""
    timed = speed_codecs()
    times: dict[tuple[int, int, str], list[float]] = {}
    for rep in range(repeats):
        for i, item in enumerate(items):
            for c, (codec, job, _) in enumerate(timed):
                start = time.perf_counter()
                streams = codec.encode(item.rgb, item.mask, job)
                times.setdefault((c, i, "encode"), []).append(time.perf_counter() - start)
                start = time.perf_counter()
                codec.decode(streams[-1])
                times.setdefault((c, i, "decode"), []).append(time.perf_counter() - start)
        print(f"  speed: repeat {rep + 1} of {repeats}", file=log, flush=True)
    megapixels = sum(item.rgb.shape[0] * item.rgb.shape[1] for item in items) / 1e6
    rows = []
    for c, (codec, _, what) in enumerate(timed):
        medians = {op: [statistics.median(times[c, i, op]) for i in range(len(items))] for op in ("encode", "decode")}
        rows.append({"codec": codec.name, "what": what, "images": len(items), "repeats": repeats,
                     "size": items[0].size, "megapixels": megapixels,
                     "encode_s": sum(medians["encode"]), "decode_s": sum(medians["decode"]),
                     "encode_mp_s": megapixels / sum(medians["encode"]),
                     "decode_mp_s": megapixels / sum(medians["decode"])})
    return rows

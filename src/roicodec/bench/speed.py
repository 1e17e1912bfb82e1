"""Encode and decode speed in megapixels per second, every codec in the same run, medians of several runs.

Runs are interleaved (each repeat times every codec on every image before the next repeat starts), so that a
background load that comes and goes on a shared machine slows every codec alike. A codec's time on an image is the
median of its repeats; its speed the pixels of all images over the sum of those medians. Every codec runs once on
the first image before anything is timed, so the times are warm: roicodec's base models are loaded then (weights
read once), and its decode times run from the file's bytes to pixels.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from roicodec.bench.codecs import AVIF_SPEED, J2K_BPP, WEBP_METHOD, BaseLayers, Codec, Jpeg2000, PillowCodec, Roicodec
from roicodec.bench.data import Item
from roicodec.models import registry

SPEED_QUALITY = 75
"""Pillow's default JPEG quality, and the same knob value for WebP and AVIF."""
J2K_LOW_LAYERS = 4
"""The second JPEG 2000 timed: the sweep's layers up to 0.4 bpp, a rate nearer the base layers' than 6 bpp."""


@dataclass(frozen=True)
class Timed:
    """One timed codec: the job it encodes, the row's setting (quality, top JPEG 2000 rate, base model) and what
    its encode and decode mean."""

    codec: Codec
    job: Any
    setting: Any
    what: str


def speed_codecs(models: Sequence[str] | None = None) -> list[Timed]:
    """Each timed codec; ``models``: the base models timed alone (default: every installed one)."""
    j2k, j2k_low = Jpeg2000(), Jpeg2000(J2K_BPP[:J2K_LOW_LAYERS])
    timed = [
        Timed(Roicodec(), None, None, "the whole file: base and 3 layers; decode of the top level"),
        Timed(PillowCodec("jpeg", "JPEG", (SPEED_QUALITY,)), SPEED_QUALITY, SPEED_QUALITY, f"quality {SPEED_QUALITY}"),
    ]
    for codec in (j2k, j2k_low):
        top = codec.targets_bpp[-1]
        timed.append(Timed(codec, codec.jobs[0], top, f"{len(codec.targets_bpp)} quality layers up to {top} bpp, "
                                                      "`mct=1`; decode of all layers"))
    timed += [
        Timed(PillowCodec("webp", "WEBP", (SPEED_QUALITY,), {"method": WEBP_METHOD}), SPEED_QUALITY, SPEED_QUALITY,
              f"quality {SPEED_QUALITY}, `method={WEBP_METHOD}`"),
        Timed(PillowCodec("avif", "AVIF", (SPEED_QUALITY,), {"speed": AVIF_SPEED}), SPEED_QUALITY, SPEED_QUALITY,
              f"quality {SPEED_QUALITY}, `speed={AVIF_SPEED}`"),
    ]
    for model in registry.available() if models is None else models:
        timed.append(Timed(BaseLayers((model,)), model, model,
                           f"base-only file of `{model}` (`qualities=()`); decode of level 0 from its bytes"))
    return timed


def measure(items: Sequence[Item], repeats: int, log: IO[str] = sys.stderr,
            models: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One row per timed codec: seconds and MP/s to encode and to decode, with how it was measured."""
    timed = speed_codecs(models)
    for t in timed:  # warm: weights, torch, Pillow's plugins
        t.codec.decode(t.codec.encode(items[0].rgb, items[0].mask, t.job)[-1])
    times: dict[tuple[int, int, str], list[float]] = {}
    for rep in range(repeats):
        for i, item in enumerate(items):
            for c, t in enumerate(timed):
                start = time.perf_counter()
                streams = t.codec.encode(item.rgb, item.mask, t.job)
                times.setdefault((c, i, "encode"), []).append(time.perf_counter() - start)
                start = time.perf_counter()
                t.codec.decode(streams[-1])
                times.setdefault((c, i, "decode"), []).append(time.perf_counter() - start)
        print(f"  speed: repeat {rep + 1} of {repeats}", file=log, flush=True)
    megapixels = sum(item.rgb.shape[0] * item.rgb.shape[1] for item in items) / 1e6
    rows = []
    for c, t in enumerate(timed):
        medians = {op: [statistics.median(times[c, i, op]) for i in range(len(items))] for op in ("encode", "decode")}
        rows.append({"codec": t.codec.name, "setting": t.setting, "what": t.what, "images": len(items),
                     "repeats": repeats, "size": items[0].size, "megapixels": megapixels,
                     "encode_s": sum(medians["encode"]), "decode_s": sum(medians["decode"]),
                     "encode_mp_s": megapixels / sum(medians["encode"]),
                     "decode_mp_s": megapixels / sum(medians["decode"]),
                     "encode_medians_s": medians["encode"], "decode_medians_s": medians["decode"]})
    return rows

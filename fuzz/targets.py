"""What the fuzzers run, shared with the replay test so that CI checks every committed input the same way.

Each target feeds the input as it is, and again with every chunk's CRC recomputed: the first tests that damage is
caught, the second gets past the CRCs into the payload parsers, the entropy decoder and the JPEG layers.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib

from PIL import Image

import roicodec
from roicodec import container
from roicodec import mask as roimask

ALLOWED = (OSError, SyntaxError, ValueError, EOFError, MemoryError, NotImplementedError, OverflowError,
           Image.DecompressionBombError, Image.DecompressionBombWarning)
"""Pillow's list of exceptions a decoder may raise on bad input (see its own fuzzers)."""

MAX_PIXELS = 1 << 20
"""The fuzzers' decompression-bomb limit: big enough for the seeds, small enough that no input runs for seconds."""


def fix_crcs(data: bytes) -> bytes:
    """Recompute the CRC of every complete chunk, leaving everything else as it is."""
    out = bytearray(data)
    pos = len(container.SIGNATURE)
    while pos + 8 <= len(out):
        length = struct.unpack_from(">I", out, pos)[0]
        end = pos + 8 + length
        if end + 4 > len(out):
            break
        out[end:end + 4] = struct.pack(">I", zlib.crc32(bytes(out[pos + 4:end])))
        pos = end + 4
    return bytes(out)


def parse(data: bytes) -> list[BaseException | None]:
    """The container parser: layout, every level's payloads, metadata and mask; no pixels. Returns, for the input as
    it is and with its CRCs fixed, the allowed exception that ended it, or None where it parsed to the end."""
    outcomes: list[BaseException | None] = []
    for candidate in (data, fix_crcs(data)):
        try:
            f = roicodec.open(candidate)
            f.metadata
            for level in range(f.levels):
                payloads = container.read_payloads(io.BytesIO(candidate), f.layout, level)
                if payloads[container.MASK]:
                    roimask.unpack(payloads[container.MASK][0], f.header.height, f.header.width)
        except ALLOWED as exc:
            outcomes.append(exc)
        else:
            outcomes.append(None)
    return outcomes


def pillow_load(data: bytes) -> list[BaseException | None]:
    """``Image.open(...).load()`` through the plugin, at the top level and at the base, under the fuzzers'
    decompression-bomb limit; outcomes as :func:`parse` gives them. The limit is Pillow's process-wide setting: it is
    put back afterwards, for the replay test shares its process with others that rely on Pillow's own."""
    outcomes: list[BaseException | None] = []
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, MAX_PIXELS
    try:
        for candidate in (data, fix_crcs(data)):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", Image.DecompressionBombWarning)
                    with Image.open(io.BytesIO(candidate), formats=["ROI"]) as im:
                        im.load()
                        im.seek(0)
                        im.load()
            except ALLOWED as exc:
                outcomes.append(exc)
            else:
                outcomes.append(None)
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    return outcomes

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


def parse(data: bytes) -> None:
    """The container parser: layout, every level's payloads, metadata and mask; no pixels."""
    for candidate in (data, fix_crcs(data)):
        try:
            f = roicodec.open(candidate)
            f.metadata
            for level in range(f.levels):
                payloads = container.read_payloads(io.BytesIO(candidate), f.layout, level)
                if payloads[container.MASK]:
                    roimask.unpack(payloads[container.MASK][0], f.header.height, f.header.width)
        except ALLOWED:
            pass


def pillow_load(data: bytes) -> None:
    """``Image.open(...).load()`` through the plugin, at the top level and at the base."""
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    for candidate in (data, fix_crcs(data)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(candidate), formats=["ROI"]) as im:
                    im.load()
                    im.seek(0)
                    im.load()
        except ALLOWED:
            pass

"""The ROI mask: stored losslessly as its bounding box plus the bits inside it, bit-packed and deflated.

A rectangle is the box alone (16 bytes) whatever the image's size, and the residual layers crop to the same box.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

from roicodec.errors import CorruptFileError

_BOX = struct.Struct(">IIII")  # x0, y0, x1, y1 (exclusive)

Box = tuple[slice, slice]


def bounding_box(mask: np.ndarray) -> Box:
    """Rows and columns of the smallest box that holds every ROI pixel (the mask must hold at least one)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)


def pack(mask: np.ndarray) -> bytes:
    if not mask.any():
        return _BOX.pack(0, 0, 0, 0)  # a plane of a stack may hold no ROI
    ys, xs = bounding_box(mask)
    box = _BOX.pack(xs.start, ys.start, xs.stop, ys.stop)
    inside = mask[ys, xs]
    if inside.all():
        return box  # a rectangle: the box says it all
    return box + zlib.compress(np.packbits(inside, axis=1).tobytes(), 9)


def unpack(data: bytes, height: int, width: int) -> np.ndarray:
    """Rebuild the ``height x width`` boolean mask; sizes are checked before anything is inflated."""
    try:
        x0, y0, x1, y1 = _BOX.unpack_from(data)
    except struct.error:
        raise CorruptFileError("mask chunk is too short: the file is damaged") from None
    mask = np.zeros((height, width), bool)
    if (x0, y0, x1, y1) == (0, 0, 0, 0) and len(data) == _BOX.size:
        return mask
    if not (x0 < x1 <= width and y0 < y1 <= height):
        raise CorruptFileError("mask box lies outside the image: the file is damaged")
    if len(data) == _BOX.size:
        mask[y0:y1, x0:x1] = True
        return mask
    row_bytes = (x1 - x0 + 7) // 8
    expected = row_bytes * (y1 - y0)
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(data[_BOX.size:], expected)
    except zlib.error:
        raise CorruptFileError("mask chunk does not inflate: the file is damaged") from None
    if len(raw) != expected or inflater.unconsumed_tail or not inflater.eof:
        raise CorruptFileError("mask chunk holds the wrong number of bits: the file is damaged")
    bits = np.unpackbits(np.frombuffer(raw, np.uint8).reshape(y1 - y0, row_bytes), axis=1, count=x1 - x0)
    mask[y0:y1, x0:x1] = bits.astype(bool)
    return mask

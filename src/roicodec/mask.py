"""The ROI mask: stored losslessly as its bounding box plus the bits inside it, bit-packed and deflated (or, in a
16-bit file, as a JPEG XL image of the box when that is smaller, as it is on nuclei masks).

A rectangle is the box alone (16 bytes) whatever the image's size, and the residual layers crop to the same box.
Both directions work a band of rows at a time, so that a mask as large as a gigapixel plane is never whole in memory:
the writer reads the caller's mask band by band, and the reader inflates only the rows the current tiles need.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from roicodec.errors import CorruptFileError

_BOX = struct.Struct(">IIII")  # x0, y0, x1, y1 (exclusive)
_BAND_BYTES = 1 << 22
"""About how much of a mask is read (or inflated) at a time."""
JXL_SIGNATURE = b"\xff\x0a"
"""How a JPEG XL codestream starts; no zlib stream does (its first byte names deflate, 8, in its low four bits)."""
JXL_MAX_PIXELS = 1 << 22
"""Largest box a 16-bit file's mask codes as JPEG XL: it is coded and decoded whole (a byte a pixel), so larger
boxes stay deflated, a band at a time."""
JXL_EFFORT = 9
"""Effort 9 gave smaller nuclei masks than 7 and 8 at well under a second for a BBBC039 mask (a probe)."""

Box = tuple[slice, slice]
Region = Callable[[slice, slice], np.ndarray]
"""Reads the mask over rows ``ys`` and columns ``xs`` as a boolean array."""


def bounding_box(mask: np.ndarray) -> Box:
    """Rows and columns of the smallest box that holds every ROI pixel (the mask must hold at least one)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)


def bands(rows: slice, row_bytes: int) -> Iterator[slice]:
    """``rows`` in bands of about ``_BAND_BYTES`` for rows of ``row_bytes`` each."""
    step = max(1, _BAND_BYTES // max(row_bytes, 1))
    for y in range(rows.start, rows.stop, step):
        yield slice(y, min(y + step, rows.stop))


@dataclass(frozen=True)
class Extent:
    """Where a mask's ROI lies, found in one pass over it."""

    box: Box | None
    """The ROI's bounding box; ``None`` when the mask selects no pixel."""
    full: bool
    """Whether every pixel of the box is in the ROI (then the box alone stores the mask)."""


def scan(region: Region, height: int, width: int) -> Extent:
    """The extent of a ``height x width`` mask, read band by band through ``region``."""
    cols = np.zeros(width, bool)
    first = last = -1
    count = 0
    for ys in bands(slice(0, height), width):
        band = region(ys, slice(0, width))
        hit = np.flatnonzero(band.any(axis=1))
        if hit.size:
            first = ys.start + int(hit[0]) if first < 0 else first
            last = ys.start + int(hit[-1])
        cols |= band.any(axis=0)
        count += int(np.count_nonzero(band))
    if first < 0:
        return Extent(None, False)
    c = np.flatnonzero(cols)
    box = slice(first, last + 1), slice(int(c[0]), int(c[-1]) + 1)
    return Extent(box, count == (box[0].stop - box[0].start) * (box[1].stop - box[1].start))


def pack_into(region: Region, extent: Extent, write: Callable[[bytes], object], deep: bool = False) -> None:
    """Write a mask's chunk payload in pieces: its box, then the deflated bits inside it, a band of rows at a time.

    One deflate stream fed band after band gives the same bytes as deflating the whole box at once, so files do not
    depend on how the mask was read. ``deep`` (a 16-bit file, format 1.2): a box of at most
    :data:`JXL_MAX_PIXELS` is coded as a JPEG XL image instead when that is smaller.
    """
    if extent.box is None:
        write(_BOX.pack(0, 0, 0, 0))  # a plane of a stack may hold no ROI
        return
    ys, xs = extent.box
    write(_BOX.pack(xs.start, ys.start, xs.stop, ys.stop))
    if extent.full:
        return  # a rectangle: the box says it all
    if deep and (ys.stop - ys.start) * (xs.stop - xs.start) <= JXL_MAX_PIXELS:
        box = region(ys, xs)
        import imagecodecs

        from roicodec.layer_codecs import codec_threads

        jxl = bytes(imagecodecs.jpegxl_encode(box.astype(np.uint8), lossless=True, effort=JXL_EFFORT,
                                              numthreads=codec_threads()))
        bits = zlib.compress(np.packbits(box, axis=1).tobytes(), 9)
        write(jxl if len(jxl) < len(bits) else bits)
        return
    deflater = zlib.compressobj(9)
    for band in bands(ys, xs.stop - xs.start):
        write(deflater.compress(np.packbits(region(band, xs), axis=1).tobytes()))
    write(deflater.flush())


def pack(mask: np.ndarray) -> bytes:
    """The chunk payload of an in-memory ``(Y, X)`` boolean mask."""
    def region(ys: slice, xs: slice) -> np.ndarray:
        return mask[ys, xs]

    parts: list[bytes] = []
    pack_into(region, scan(region, *mask.shape), parts.append)
    return b"".join(parts)


class Reader:
    """A mask chunk read back a region at a time: for a walk down the tile grid, memory holds the packed rows of the
    current band of tiles, not the plane. Sizes are checked, and the whole stream inflated once without keeping it,
    before the first region is given, so that a damaged mask fails before any pixel is written."""

    def __init__(self, data: bytes, height: int, width: int, deep: bool = False) -> None:
        try:
            x0, y0, x1, y1 = _BOX.unpack_from(data)
        except struct.error:
            raise CorruptFileError("mask chunk is too short: the file is damaged") from None
        self.height, self.width = height, width
        self.box: Box | None = None
        self._bits = data[_BOX.size:]
        if (x0, y0, x1, y1) == (0, 0, 0, 0) and not self._bits:
            return
        if not (x0 < x1 <= width and y0 < y1 <= height):
            raise CorruptFileError("mask box lies outside the image: the file is damaged")
        self.box = slice(y0, y1), slice(x0, x1)
        self._row_bytes = (x1 - x0 + 7) // 8
        self._whole: np.ndarray | None = None
        if deep and self._bits.startswith(JXL_SIGNATURE):
            self._whole = _unjxl(self._bits, y1 - y0, x1 - x0)
        elif self._bits:
            self._check_stream(self._row_bytes * (y1 - y0))
            self._restart()

    def _check_stream(self, expected: int) -> None:
        inflater, pending, total = zlib.decompressobj(), self._bits, 0
        try:
            while True:
                piece = inflater.decompress(pending, _BAND_BYTES)
                pending = inflater.unconsumed_tail
                total += len(piece)
                if not piece or total > expected:
                    break
        except zlib.error:
            raise CorruptFileError("mask chunk does not inflate: the file is damaged") from None
        if total != expected or inflater.unconsumed_tail or not inflater.eof:
            raise CorruptFileError("mask chunk holds the wrong number of bits: the file is damaged")

    def _restart(self) -> None:
        assert self.box is not None
        self._inflater = zlib.decompressobj()
        self._pending = self._bits
        self._top = self.box[0].start
        self._rows = np.empty((0, self._row_bytes), np.uint8)
        """Packed rows ``_top`` to ``_top + len(_rows)`` of the image."""

    def _packed(self, ys: slice) -> np.ndarray:
        """Packed rows ``ys`` (inside the box), inflating forward from where the last call stopped."""
        if ys.start < self._top:
            self._restart()  # a walk that goes back up starts the stream again
        bottom = self._top + len(self._rows)
        keep = self._rows[max(ys.start - self._top, 0):]
        start = max(ys.start, bottom)
        need = (ys.stop - start) * self._row_bytes
        if need > 0:
            if start > bottom:  # skip rows no region asked for
                self._inflater.decompress(self._pending, (start - bottom) * self._row_bytes)
                self._pending = self._inflater.unconsumed_tail
            raw = self._inflater.decompress(self._pending, need)
            self._pending = self._inflater.unconsumed_tail
            new = np.frombuffer(raw, np.uint8).reshape(-1, self._row_bytes)
            keep = np.concatenate([keep, new]) if len(keep) else new
        self._top, self._rows = ys.start, keep
        return keep[:ys.stop - ys.start]

    def region(self, ys: slice, xs: slice) -> np.ndarray:
        """The mask over rows ``ys`` and columns ``xs`` (inside the image), boolean."""
        out = np.zeros((ys.stop - ys.start, xs.stop - xs.start), bool)
        if self.box is None:
            return out
        by, bx = self.box
        iy = slice(max(ys.start, by.start), min(ys.stop, by.stop))
        ix = slice(max(xs.start, bx.start), min(xs.stop, bx.stop))
        if iy.start >= iy.stop or ix.start >= ix.stop:
            return out
        target = out[iy.start - ys.start:iy.stop - ys.start, ix.start - xs.start:ix.stop - xs.start]
        if not self._bits:
            target[...] = True
            return out
        c0, c1 = ix.start - bx.start, ix.stop - bx.start
        if self._whole is not None:
            target[...] = self._whole[iy.start - by.start:iy.stop - by.start, c0:c1]
            return out
        packed = self._packed(iy)[:, c0 // 8:(c1 + 7) // 8]
        target[...] = np.unpackbits(packed, axis=1)[:, c0 % 8:c0 % 8 + c1 - c0].astype(bool)
        return out


def _unjxl(data: bytes, height: int, width: int) -> np.ndarray:
    """A JPEG XL mask of the box, decoded into a buffer of the box's size (no stream can make it allocate more)."""
    import imagecodecs

    from roicodec.layer_codecs import codec_threads

    out = np.empty((height, width), np.uint8)
    try:
        imagecodecs.jpegxl_decode(data, out=out, numthreads=codec_threads())
    except (RuntimeError, ValueError) as exc:
        raise CorruptFileError(f"mask chunk is not a JPEG XL image of its box ({exc}): the file is damaged") from None
    if out.max(initial=0) > 1:
        raise CorruptFileError("mask chunk's JPEG XL image holds values other than 0 and 1: the file is damaged")
    return out.astype(bool)


def unpack(data: bytes, height: int, width: int, deep: bool = False) -> np.ndarray:
    """Rebuild the whole ``height x width`` boolean mask; sizes are checked before anything is inflated."""
    return Reader(data, height, width, deep).region(slice(0, height), slice(0, width))

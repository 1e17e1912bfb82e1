"""The ROI's enhancement layers: each JPEG codes what the base and the layers before it left, inside the ROI.

Layers follow the base layer's tile grid, so that the codec refines the image one tile at a time and memory stays
bounded whatever the image's size. A layer is a table of tiles (each a 32-bit length, then the tile's payload); a
tile without ROI pixels has an empty payload. A tile's payload is the residual step (one byte) and a JPEG of the
signed residual ``r`` over the bounding box of the tile's ROI pixels, mapped to 8 bits as
``clip(round(r / step) + 128, 0, 255)``, with ``step`` 1 when every ``|r| <= 127`` and 2 otherwise. Pixels outside
the ROI are coded as 128 (zero) and ignored on decoding, so every level equals the base outside the ROI. Layers at
quality 90 and above keep full-resolution chroma (4:4:4), which the top layer needs to reach high ROI-PSNR; lower
ones use 4:2:0.
"""

from __future__ import annotations

import io
import struct
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, ImageFile

from roicodec.errors import CorruptFileError
from roicodec.mask import bounding_box

FULL_CHROMA_FROM = 90
_LENGTH = struct.Struct(">I")


def jpeg_bound(width: int, height: int, bands: int, subsampled: bool) -> int:
    """The most bytes a baseline JPEG of this size can take, whatever its pixels: libjpeg-turbo's worst case
    (``tj3JPEGBufSize``: two bytes a sample over whole MCUs, plus 2048 for the headers), for a JPEG can outgrow the
    raw pixels (noise at high quality does). ``subsampled``: 4:2:0 chroma, which only a 3-band image has."""
    mcu = 16 if subsampled else 8
    per_pixel = 3 if subsampled else 2 * bands
    return -(-width // mcu) * mcu * -(-height // mcu) * mcu * per_pixel + 2048


_block_lock = threading.Lock()
_block_users = 0
_block_before = ImageFile.MAXBLOCK
_block_set = ImageFile.MAXBLOCK


@contextmanager
def _output_buffer(size: int) -> Iterator[None]:
    """Make Pillow's encoders use an output buffer of at least ``size`` bytes while the block runs.

    With ``optimize=True`` libjpeg writes the whole entropy-coded image from ``jpeg_finish_compress``, where it cannot
    suspend to hand a full buffer back, so Pillow's one buffer must hold the whole file; Pillow sizes it from a guess
    (a byte a pixel, two at quality 95 and above) that noise-like residuals outgrow, and then fails with "broken data
    stream" ("Suspension not allowed here"). Its only knob is the process-wide ``ImageFile.MAXBLOCK``, read once when
    a save starts: raise it for as long as any of our saves runs, in whatever thread, and then put back what was
    there, unless someone else has set it meanwhile. The buffer's size changes no byte of the JPEG."""
    global _block_users, _block_before, _block_set
    with _block_lock:
        if _block_users == 0:
            _block_before = ImageFile.MAXBLOCK
        _block_users += 1
        if ImageFile.MAXBLOCK < size:
            ImageFile.MAXBLOCK = size
        _block_set = ImageFile.MAXBLOCK
    try:
        yield
    finally:
        with _block_lock:
            _block_users -= 1
            if _block_users == 0 and ImageFile.MAXBLOCK == _block_set:
                ImageFile.MAXBLOCK = _block_before


def save_jpeg(im: Image.Image, fp: BinaryIO, **options: Any) -> None:
    """``im.save(fp, "JPEG", **options)`` with an output buffer that any pixels fit in, so that ``optimize=True``
    (or ``progressive=True``) cannot fail on noise. Chroma other than 4:2:0 (``subsampling`` 2, or Pillow's default)
    is sized as 4:4:4, which covers it; metadata is added as it comes."""
    subsampled = len(im.getbands()) == 3 and options.get("subsampling", -1) in (2, -1, "4:2:0")
    size = jpeg_bound(im.width, im.height, len(im.getbands()), subsampled)
    size += sum(len(options.get(key) or b"") + 16 for key in ("exif", "icc_profile", "comment"))
    with _output_buffer(size):
        im.save(fp, "JPEG", **options)


def _jpeg(plane: np.ndarray, quality: int) -> bytes:
    im = Image.fromarray(plane[..., 0] if plane.shape[2] == 1 else plane)
    buf = io.BytesIO()
    subsampling = 0 if quality >= FULL_CHROMA_FROM else 2
    save_jpeg(im, buf, quality=quality, subsampling=subsampling, optimize=True)
    return buf.getvalue()


def _unjpeg(data: bytes, shape: tuple[int, int, int]) -> np.ndarray:
    try:
        im = Image.open(io.BytesIO(data), formats=["JPEG"])
        if im.size != (shape[1], shape[0]) or len(im.getbands()) != shape[2]:
            raise CorruptFileError("enhancement layer has the wrong size or bands: the file is damaged")
        arr = np.asarray(im)
    except (OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, CorruptFileError):
            raise
        raise CorruptFileError(f"enhancement layer is not a readable JPEG ({exc}): the file is damaged") from None
    return arr.reshape(shape)


def _add(recon: np.ndarray, coded: np.ndarray, step: int, roi: np.ndarray) -> None:
    """``recon += (coded - 128) * step`` inside ``roi``, clipped to 8 bits, in place."""
    total = np.clip(recon + (coded.astype(np.int16) - 128) * step, 0, 255).astype(np.uint8)
    np.copyto(recon, total, where=roi[..., None])


def _to_code(r: np.ndarray, step: int) -> np.ndarray:
    """``clip(round(r / step) + 128, 0, 255)`` as uint8 (round half to even), computed in place in ``r``'s int16:
    exactly what floats give for |r| <= 255, without the four float64 copies of the tile that they cost."""
    if step == 2:
        r += (r >> 1) & 1  # an odd r / 2 lies halfway: round it up when its floor is odd
        r >>= 1
    r += 128
    return np.clip(r, 0, 255, out=r).astype(np.uint8)


def encode_tile(original: np.ndarray, base: np.ndarray, mask: np.ndarray, qualities: Sequence[int]) -> list[bytes]:
    """One tile's payload per layer (``HxWxC`` uint8 tiles); ``base`` becomes the tile's top level in place."""
    if not mask.any():
        return [b""] * len(qualities)
    ys, xs = bounding_box(mask)
    orig, recon, roi = original[ys, xs], base[ys, xs], mask[ys, xs]
    payloads = []
    for q in qualities:
        r = orig.astype(np.int16) - recon
        r[~roi] = 0
        step = 1 if int(np.abs(r).max()) <= 127 else 2
        data = _jpeg(_to_code(r, step), q)
        _add(recon, _unjpeg(data, orig.shape), step, roi)
        payloads.append(bytes([step]) + data)
    return payloads


def decode_tile(base: np.ndarray, mask: np.ndarray, payloads: Sequence[bytes]) -> Iterator[np.ndarray]:
    """Apply one tile's ``payloads`` to ``base`` (in place) and yield the tile after each layer."""
    roi_here = mask.any()
    if roi_here:
        ys, xs = bounding_box(mask)
        recon, roi = base[ys, xs], mask[ys, xs]
    for payload in payloads:
        if not roi_here:
            if payload:
                raise CorruptFileError("enhancement layer codes a tile without ROI: the file is damaged")
        elif len(payload) < 2 or payload[0] not in (1, 2):
            raise CorruptFileError("enhancement layer has no valid residual step: the file is damaged")
        else:
            _add(recon, _unjpeg(payload[1:], recon.shape), payload[0], roi)
        yield base


def tile_entry(payload: bytes) -> bytes:
    """One tile's entry in a layer's table: its length, then its payload."""
    return _LENGTH.pack(len(payload)) + payload


def pack_tiles(payloads: Sequence[bytes]) -> bytes:
    """A layer: its tiles' payloads, each after its length."""
    return b"".join(tile_entry(p) for p in payloads)


class TileTable:
    """A layer's tile table, read through ``read(start, length)`` (bytes of the layer's payload): the lengths are
    walked and checked against the layer's size once, before anything is sliced, and each tile's payload is read
    only when asked for, so that a layer never has to be whole in memory."""

    def __init__(self, read: Callable[[int, int], bytes], size: int, count: int) -> None:
        self._read = read
        self._spans = np.empty((count, 2), np.int64)
        pos = 0
        for i in range(count):
            if pos + _LENGTH.size > size:
                raise CorruptFileError("enhancement layer ends inside its tile table: the file is damaged")
            (length,) = _LENGTH.unpack(read(pos, _LENGTH.size))
            pos += _LENGTH.size
            if pos + length > size:
                raise CorruptFileError("enhancement layer tile runs past its chunk: the file is damaged")
            self._spans[i] = pos, length
            pos += length
        if pos != size:
            raise CorruptFileError("enhancement layer has bytes after its last tile: the file is damaged")

    def __len__(self) -> int:
        return len(self._spans)

    def __getitem__(self, index: int) -> bytes:
        start, length = (int(v) for v in self._spans[index])
        return self._read(start, length) if length else b""


def unpack_tiles(data: bytes, count: int) -> list[bytes]:
    """The ``count`` tile payloads of an in-memory layer."""
    table = TileTable(lambda start, length: data[start:start + length], len(data), count)
    return [table[i] for i in range(count)]

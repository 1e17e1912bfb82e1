"""What one enhancement layer does to one tile, for each kind of layer (docs/format.md, "Layer kinds").

Two families:

- **Residual layers** (``jpeg``, ``avif``) code what the level below left inside the ROI, as the paper does: the
  signed residual ``r`` over the box of the tile's ROI pixels, mapped to 8 bits as ``clip(round(r / step) + 128, 0,
  255)`` with ``step`` 1 when every ``|r| <= 127`` and 2 otherwise; pixels outside the ROI are 128 (no change).
  Their level depends on the level below, so on the base's floating-point synthesis: it may differ by a grey level
  between machines.
- **Verified layers** (``exact``, ``near``) code the ROI's own pixels, not a residual: their level depends on no
  level below and no floating-point step, so it decodes to the same pixels everywhere, and the file carries a
  SHA-256 of those pixels that the reader checks. ``exact`` gives the original; ``near`` every ROI pixel within
  ``±k``. Pixels of the box outside the ROI are filled by repeating the nearest ROI pixel to their left (or the
  row above), which costs a predictive lossless coder next to nothing, and are ignored on decoding.

Tiles of a 16-bit file (format 1.2) are uint16 in the image's own units: residuals are coded at 12 bits (AVIF), the
checked layers at 16 (JPEG XL, JPEG-LS), and a JPEG layer, which has 8 bits, is refused.

Every codec is a library's: Pillow's JPEG, and imagecodecs' AVIF, JPEG XL and JPEG-LS.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, ImageFile

from roicodec.container import Layer
from roicodec.errors import CorruptFileError, RoiError
from roicodec.models.runtime import threads

FULL_CHROMA_FROM = 90
"""JPEG layers of this quality and above keep full-resolution chroma (4:4:4); lower ones use 4:2:0."""

AVIF_SPEED = 3
"""libavif's speed for AVIF layers (0 slowest and smallest, 10 fastest): chosen with :data:`JXL_EFFORT` on the first
8 Kodak images against speeds 2 and 4, as the smallest files at an encode time of a few seconds per photograph."""

JXL_EFFORT = 8
"""JPEG XL's effort for checked layers, chosen with :data:`AVIF_SPEED` against efforts 7 and 9."""



def codec_threads() -> int:
    """Threads for the layers' codecs: JPEG XL's own (libjxl writes the same bytes at any thread count, checked by
    tests/test_layer_codecs.py) and the tiles the encoder codes at once (:func:`roicodec.encoder.encode_plane`),
    so they buy speed alone: the graphs' setting (``ROICODEC_THREADS``, else ``OMP_NUM_THREADS``, which Dask's
    workers set to 1), else every core."""
    return threads() or os.cpu_count() or 1


# Codec ids inside a verified layer's tile payload (its first byte), so that a writer may pick per tile.
JXL_LOSSLESS, JPEGLS = 1, 2


DEEP_CODE = 2048
"""A 16-bit residual's zero in its 12-bit code (AVIF at 12 bits): codes 0..4095 hold ``r / step`` from -2048."""


def encode(layer: Layer, original: np.ndarray, recon: np.ndarray, roi: np.ndarray) -> bytes:
    """The payload of one tile's ROI box (``HxWxC`` uint8, or uint16 for a 16-bit file) for ``layer``; ``recon``
    (the level below) becomes this level in place, exactly as the decoder will rebuild it."""
    if layer.verified:
        payload, decoded = _encode_verified(original, roi, layer.param)
        np.copyto(recon, decoded, where=roi[..., None])
        return payload
    if recon.dtype == np.uint16:
        if layer.kind == "jpeg":
            raise RoiError("jpeg layers code 8-bit residuals: give 16-bit images avif:Q layers (or near:K, exact)")
        r32 = original.astype(np.int32) - recon
        r32[~roi] = 0
        step = max(1, -(-int(np.abs(r32).max()) // (DEEP_CODE - 1)))
        code = np.clip(np.rint(r32 / step) + DEEP_CODE, 0, 2 * DEEP_CODE - 1).astype(np.uint16)
        payload = bytes([step]) + _avif(code, layer.param, 12)
    else:
        r = original.astype(np.int16) - recon
        r[~roi] = 0
        step = 1 if int(np.abs(r).max()) <= 127 else 2
        payload = bytes([step]) + _RESIDUAL[layer.kind][0](_to_code(r, step), layer.param)
    decode(layer, payload, recon, roi)
    return payload


def decode(layer: Layer, payload: bytes, recon: np.ndarray, roi: np.ndarray) -> None:
    """Apply one tile's payload of ``layer`` to ``recon`` (the level below over the ROI's box), in place."""
    apply(layer, unpack(layer, payload, recon.shape, recon.dtype), recon, roi)


@dataclass(frozen=True)
class Unpacked:
    """One tile's payload of a layer run through its codec, not yet applied to the level below: the part of decoding
    that needs no base, so that a reader can run it beside the base's synthesis."""

    values: np.ndarray
    """The box's coded values (ROI pixels for a verified layer, residual codes otherwise), ``HxWxC``."""
    step: int
    """The residual's step (0 for a verified layer)."""


def unpack(layer: Layer, payload: bytes, shape: tuple[int, ...], dtype: Any) -> Unpacked:
    """Run one tile's payload of ``layer`` through its codec for a box of ``shape`` and ``dtype`` (the tile's)."""
    if layer.verified:
        return Unpacked(_decode_verified(payload, shape, layer.param, dtype), 0)
    if np.dtype(dtype) == np.uint16:
        if len(payload) < 2 or not payload[0] or layer.kind != "avif":
            raise CorruptFileError("16-bit enhancement layer has no valid residual step or kind: the file is damaged")
        return Unpacked(_unavif(payload[1:], shape, 12), payload[0])
    if len(payload) < 2 or payload[0] not in (1, 2):
        raise CorruptFileError("enhancement layer has no valid residual step: the file is damaged")
    return Unpacked(_RESIDUAL[layer.kind][1](payload[1:], shape), payload[0])


def apply(layer: Layer, unpacked: Unpacked, recon: np.ndarray, roi: np.ndarray) -> None:
    """Refine ``recon`` (the level below over the ROI's box) by one :func:`unpack`-ed payload of ``layer``, in place."""
    values = unpacked.values
    if layer.verified:
        np.copyto(recon, values, where=roi[..., None])
        return
    if recon.dtype == np.uint16:
        total = np.clip(recon + (values.astype(np.int32) - DEEP_CODE) * unpacked.step, 0, 65535).astype(np.uint16)
    else:
        total = np.clip(recon + (values.astype(np.int16) - 128) * unpacked.step, 0, 255).astype(np.uint8)
    np.copyto(recon, total, where=roi[..., None])


def _to_code(r: np.ndarray, step: int) -> np.ndarray:
    """``clip(round(r / step) + 128, 0, 255)`` as uint8 (round half to even), computed in place in ``r``'s int16:
    exactly what floats give for |r| <= 255, without the four float64 copies of the tile that they cost."""
    if step == 2:
        r += (r >> 1) & 1  # an odd r / 2 lies halfway: round it up when its floor is odd
        r >>= 1
    r += 128
    return np.clip(r, 0, 255, out=r).astype(np.uint8)


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
        ImageFile.MAXBLOCK = max(ImageFile.MAXBLOCK, size)
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


def _unjpeg(data: bytes, shape: tuple[int, ...]) -> np.ndarray:
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


def _codecs():  # type: ignore[no-untyped-def]
    try:
        import imagecodecs
    except ImportError:  # declared in pyproject; a clear line if an install lost it
        raise RoiError("this layer needs imagecodecs: pip install imagecodecs") from None
    return imagecodecs


def _avif(plane: np.ndarray, quality: int, bits: int = 10) -> bytes:
    """An AVIF of the residual's code: 8-bit codes at 10 bits (x4), or a 16-bit file's 12-bit codes as they are."""
    ic = _codecs()
    # Gray goes in as three equal channels: imagecodecs codes a monochrome AVIF losslessly whatever the quality, and
    # equal channels leave AV1's chroma planes flat, which costs next to nothing.
    rgb = np.repeat(plane, 3, axis=2) if plane.shape[2] == 1 else plane
    data = np.ascontiguousarray(rgb).astype(np.uint16)
    if bits == 10:
        # 10 bits holding the 8-bit code x4: AV1's finer internal precision gave higher ROI-PSNR for the same bytes
        # on residuals in the runs that chose the ladder. 4:4:4, for a residual's colour detail is as fine as its luma.
        data <<= 2
    # The enum, not the string "444": imagecodecs 2026.11 (the newest on Python 3.12+) no longer accepts the string.
    return bytes(ic.avif_encode(data, level=quality, speed=AVIF_SPEED, bitspersample=bits,
                                pixelformat=ic.AVIF.PIXEL_FORMAT.YUV444))


def _unavif(data: bytes, shape: tuple[int, ...], bits: int = 10) -> np.ndarray:
    ic = _codecs()
    coded = _decode_into(ic.avif_decode, ic.avif_check, data, (*shape[:2], 3), "AVIF", np.uint16)
    if bits == 10:
        code = np.minimum((coded + 2) >> 2, 255).astype(np.uint8)
    else:
        code = np.minimum(coded, 2 * DEEP_CODE - 1)
    return code[..., 1:2] if shape[2] == 1 else code  # gray: the green channel, which carries the most of luma


_RESIDUAL: dict[str, tuple[Callable[[np.ndarray, int], bytes], Callable[[bytes, tuple[int, ...]], np.ndarray]]] = {
    "jpeg": (_jpeg, _unjpeg),
    "avif": (_avif, _unavif),
}


def fill_outside(box: np.ndarray, roi: np.ndarray) -> np.ndarray:
    """``box`` with every pixel outside ``roi`` replaced by the nearest ROI pixel to its left in the row (or, left
    of a row's first ROI pixel and in rows without any, by the pixel above), so that a predictive coder spends
    almost nothing on pixels the decoder ignores. A copy; ``box`` is untouched."""
    h, w = roi.shape
    cols = np.where(roi, np.arange(w)[None, :], -1)
    np.maximum.accumulate(cols, axis=1, out=cols)
    first = np.argmax(roi, axis=1)
    rows_with = roi.any(axis=1)
    # Left of the first ROI pixel, take the first one; rows without ROI pixels come from the row above.
    cols = np.where(cols < 0, first[:, None], cols)
    out = box[np.arange(h)[:, None], cols]
    last = None
    for y in range(h):
        if rows_with[y]:
            last = y
        elif last is not None:
            out[y] = out[last]
    if last is None:
        return box.copy()
    head = int(np.argmax(rows_with))
    out[:head] = out[head]
    return out


def _encode_verified(original: np.ndarray, roi: np.ndarray, max_error: int) -> tuple[bytes, np.ndarray]:
    """A verified layer's payload for one tile's box, and the pixels it decodes to (the original when exact)."""
    ic = _codecs()
    filled = fill_outside(original, roi)
    data = filled[..., 0] if filled.shape[2] == 1 else filled
    if not max_error:
        payload = bytes([JXL_LOSSLESS]) + bytes(ic.jpegxl_encode(data, lossless=True, effort=JXL_EFFORT,
                                                                 numthreads=codec_threads()))
        return payload, original
    payload = min(_near_payloads(filled, max_error), key=len)
    decoded = _decode_verified(payload, original.shape, max_error, original.dtype)
    if int(np.abs(decoded.astype(np.int32) - original)[roi].max(initial=0)) > max_error:  # a codec broke its bound
        raise RoiError(f"near-lossless coding missed its bound of {max_error}: report this as a bug")
    return payload, decoded


def _near_payloads(box: np.ndarray, max_error: int) -> list[bytes]:
    """A near-lossless tile two ways, for the writer to keep the smaller: JPEG XL lossless of the pixels quantised to
    steps of 2k+1 (the step's multiple is within k of every value the step holds), and JPEG-LS's own near-lossless
    mode. Which one wins depends on the image: quantising keeps colour decorrelation, JPEG-LS smooth gradients."""
    ic = _codecs()
    data = np.ascontiguousarray(box[..., 0] if box.shape[2] == 1 else box)
    quantised = ((data.astype(np.int32) + max_error) // (2 * max_error + 1)).astype(data.dtype)
    return [bytes([JXL_LOSSLESS]) + bytes(ic.jpegxl_encode(quantised, lossless=True, effort=JXL_EFFORT,
                                                           numthreads=codec_threads())),
            bytes([JPEGLS]) + bytes(ic.jpegls_encode(data, level=max_error))]


def _decode_verified(payload: bytes, shape: tuple[int, ...], max_error: int, dtype: Any = np.uint8) -> np.ndarray:
    if len(payload) < 2 or payload[0] not in (JXL_LOSSLESS, JPEGLS) or (payload[0] == JPEGLS and not max_error):
        raise CorruptFileError("verified layer names no codec this reader knows: the file is damaged, or newer than "
                               "this roicodec (upgrade it)")
    ic = _codecs()
    data = payload[1:]
    if payload[0] == JPEGLS:
        return _decode_into(ic.jpegls_decode, ic.jpegls_check, data, shape, "JPEG-LS", dtype)
    arr = _decode_into(partial(ic.jpegxl_decode, numthreads=codec_threads()), ic.jpegxl_check, data, shape, "JPEG XL",
                       dtype)
    if not max_error:
        return arr
    step = 2 * max_error + 1
    return np.clip(arr.astype(np.int32) * step, 0, np.iinfo(dtype).max).astype(dtype)


def _decode_into(decode: Callable[..., np.ndarray], check: Callable[[bytes], object], data: bytes,
                 shape: tuple[int, ...], codec: str, dtype: type = np.uint8) -> np.ndarray:
    """Decode into an array of the box's shape: the codec checks the size its stream declares against it before it
    decodes a pixel, so a stream that declares a huge image (a decompression bomb) costs nothing."""
    if check(data) is False:  # None: the codec cannot tell from the first bytes, and decoding will
        raise CorruptFileError(f"enhancement layer is not a {codec} stream: the file is damaged")
    out = np.empty(shape[:2] if shape[2] == 1 else shape, dtype)
    try:
        decode(data, out=out)
    except (RuntimeError, ValueError) as exc:  # imagecodecs: its error class per codec; ValueError for a size
        raise CorruptFileError(f"enhancement layer is not a readable {codec} stream of the tile's size ({exc}): "
                               "the file is damaged") from None
    return out.reshape(shape)

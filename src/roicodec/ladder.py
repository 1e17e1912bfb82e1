"""The ROI's enhancement layers: each JPEG codes what the base and the layers before it left, inside the ROI.

A layer holds the signed residual ``r`` over the ROI's bounding box (a plane of a stack without ROI has the one-byte
layer ``00``), mapped to 8 bits as
``clip(round(r / step) + 128, 0, 255)`` with ``step`` 1 when every ``|r| <= 127`` and 2 otherwise (the step is the
payload's first byte, the JPEG follows). Pixels outside the ROI are coded as 128 (zero) and ignored on decoding, so
every level equals the base outside the ROI. Layers at quality 90 and above keep full-resolution chroma (4:4:4),
which the top layer needs to reach high ROI-PSNR; lower ones use 4:2:0.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence

import numpy as np
from PIL import Image

from roicodec.errors import CorruptFileError
from roicodec.mask import bounding_box

FULL_CHROMA_FROM = 90
_STRIP = 256
"""Rows handled at once when applying a layer, so that int16 temporaries stay small on gigapixel images."""


def _jpeg(plane: np.ndarray, quality: int) -> bytes:
    im = Image.fromarray(plane[..., 0] if plane.shape[2] == 1 else plane)
    buf = io.BytesIO()
    subsampling = 0 if quality >= FULL_CHROMA_FROM else 2
    im.save(buf, "JPEG", quality=quality, subsampling=subsampling, optimize=True)
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
    """``recon += (coded - 128) * step`` inside ``roi``, clipped to 8 bits, in place and strip by strip."""
    for y in range(0, recon.shape[0], _STRIP):
        s = slice(y, y + _STRIP)
        delta = (coded[s].astype(np.int16) - 128) * step
        total = np.clip(recon[s] + delta, 0, 255).astype(np.uint8)
        np.copyto(recon[s], total, where=roi[s, :, None])


EMPTY = b"\x00"
"""The layer of a plane without ROI: nothing to add."""


def encode(original: np.ndarray, base: np.ndarray, mask: np.ndarray, qualities: Sequence[int]) -> list[bytes]:
    """Code the layers of ``original`` (``HxWxC`` uint8) over ``base``; ``base`` becomes the top level in place."""
    if not mask.any():
        return [EMPTY] * len(qualities)
    ys, xs = bounding_box(mask)
    orig, recon, roi = original[ys, xs], base[ys, xs], mask[ys, xs]
    strips = [slice(y, y + _STRIP) for y in range(0, orig.shape[0], _STRIP)]

    def residual(s: slice) -> np.ndarray:
        r = orig[s].astype(np.int16) - recon[s]
        r[~roi[s]] = 0
        return r

    layers = []
    for q in qualities:
        step = 1 if max(int(np.abs(residual(s)).max()) for s in strips) <= 127 else 2
        coded = np.empty(orig.shape, np.uint8)
        for s in strips:
            coded[s] = np.clip(np.round(residual(s) / step) + 128, 0, 255)
        data = _jpeg(coded, q)
        del coded  # gigapixel ROIs: free it before the decoded copy arrives
        _add(recon, _unjpeg(data, orig.shape), step, roi)
        layers.append(bytes([step]) + data)
    return layers


def decode(base: np.ndarray, mask: np.ndarray, layers: Sequence[bytes]) -> Iterator[np.ndarray]:
    """Apply ``layers`` to ``base`` (in place) and yield the image after each one."""
    if not mask.any():
        for payload in layers:
            if payload != EMPTY:
                raise CorruptFileError("enhancement layer of a plane without ROI is not empty: the file is damaged")
            yield base
        return
    ys, xs = bounding_box(mask)
    recon, roi = base[ys, xs], mask[ys, xs]
    for payload in layers:
        if len(payload) < 2 or payload[0] not in (1, 2):
            raise CorruptFileError("enhancement layer has no valid residual step: the file is damaged")
        _add(recon, _unjpeg(payload[1:], recon.shape), payload[0], roi)
        yield base

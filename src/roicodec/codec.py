"""Encode an image and its ROI into a ``.roi`` file, and decode any level of one.

Level 0 is the base layer; level k adds enhancement layers 1..k inside the ROI.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Union

import numpy as np

from roicodec import base, container, ladder
from roicodec import mask as roimask
from roicodec.atomic import write_bytes
from roicodec.errors import CorruptFileError, RoiError, TruncatedFileError, UnsupportedImageError
from roicodec.models import registry

if TYPE_CHECKING:
    from PIL import Image

ImageLike = Union[np.ndarray, "Image.Image"]
Source = Union[str, os.PathLike, bytes, IO[bytes]]

DEFAULT_QUALITIES = (75, 90, 100)
DEFAULT_TILE = 1024


def _as_array(image: ImageLike) -> np.ndarray:
    """``HxWxC`` uint8 with C 1 or 3, or a one-line error that says how to get there."""
    if not isinstance(image, np.ndarray):
        mode = image.mode
        if mode in ("1", "P"):
            image = image.convert("RGB" if mode == "P" else "L")
        elif mode not in ("L", "RGB"):
            hint = "drop the alpha channel with .convert('RGB')" if "A" in mode else "convert it to 8-bit 'L' or 'RGB'"
            raise UnsupportedImageError(f"images of mode {mode!r} are not supported: {hint}")
        image = np.asarray(image)
    if image.dtype != np.uint8:
        raise UnsupportedImageError(f"images of dtype {image.dtype} are not supported: scale to uint8 first")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3):
        shape = "x".join(map(str, image.shape))
        raise UnsupportedImageError(f"image of shape {shape} is not supported: pass HxW (gray) or HxWx3 (RGB)")
    if min(image.shape[:2]) == 0 or max(image.shape[:2]) > container.MAX_SIDE:
        raise UnsupportedImageError(f"image of {image.shape[1]}x{image.shape[0]} pixels is not supported: "
                                    f"each side must be 1 to {container.MAX_SIDE} pixels")
    return image


def _as_mask(mask: ImageLike | None, shape: tuple[int, int]) -> np.ndarray:
    if mask is None:
        return np.ones(shape, bool)
    arr = np.asarray(mask)
    if arr.ndim == 3:
        arr = arr.any(axis=2)
    if arr.shape != shape:
        raise RoiError(f"mask is {arr.shape[1]}x{arr.shape[0]} but the image is {shape[1]}x{shape[0]}: "
                       "pass a mask of the image's size")
    arr = arr != 0
    if not arr.any():
        raise RoiError("mask selects no pixel: mark the ROI with non-zero values, or pass no mask for the whole image")
    return arr


def encode(image: ImageLike, mask: ImageLike | None = None, path: str | os.PathLike | None = None, *,
           qualities: Sequence[int] = DEFAULT_QUALITIES, model: str | None = None,
           tile: int = DEFAULT_TILE, metadata: Mapping[str, Any] | None = None) -> bytes:
    """Code ``image`` with its ROI and return the ``.roi`` bytes; also write them atomically to ``path`` if given.

    Args:
        image: ``HxW`` or ``HxWx3`` uint8 array, or a PIL image of mode L or RGB (1 and P are converted).
        mask: ROI where non-zero, same height and width; ``None`` makes the whole image the ROI.
        qualities: JPEG quality of each enhancement layer, lowest first; empty for a base-only file.
        model: base-layer model name (default: the package's default model).
        tile: base-layer tile side in pixels, a multiple of 16 (at least 64); bounds memory on large images.
        metadata: JSON-serialisable description kept in the file (e.g. a layer's ``name`` and ``scale``).
    """
    arr = _as_array(image)
    roi = _as_mask(mask, arr.shape[:2])
    qualities = tuple(int(q) for q in qualities)
    if len(qualities) > container.MAX_LAYERS or not all(1 <= q <= 100 for q in qualities):
        raise RoiError(f"qualities {qualities} are invalid: give at most {container.MAX_LAYERS} values in 1..100")
    if tile < container.MIN_TILE or tile % 16 or tile // 16 >= 1 << 16:
        raise RoiError(f"tile {tile} is invalid: use a multiple of 16 from 64 up, for example {DEFAULT_TILE}")
    identity = registry.info(model)
    header = container.Header(arr.shape[1], arr.shape[0], "L" if arr.shape[2] == 1 else "RGB", qualities,
                              identity.name, identity.hash, tile)
    base_data, recon = base.encode(arr, identity.name, tile)
    layers = ladder.encode(arr, recon, roi, qualities) if qualities else []
    data = container.pack(header, base_data, roimask.pack(roi), layers, _pack_meta(metadata))
    if path is not None:
        write_bytes(path, data)
    return data


def _pack_meta(metadata: Mapping[str, Any] | None) -> bytes:
    if not metadata:
        return b""
    try:
        data = json.dumps(dict(metadata), separators=(",", ":"), sort_keys=True, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise RoiError(f"metadata is not JSON-serialisable ({exc}): pass str, number, bool, list and dict values")
    if len(data) > container.MAX_META:
        raise RoiError(f"metadata takes {len(data)} bytes, more than {container.MAX_META}: keep it to a description")
    return data


@dataclass(frozen=True)
class LevelInfo:
    level: int
    quality: int | None
    """JPEG quality of the layer that completes this level (``None`` for the base)."""
    bytes: int
    """File bytes a reader needs for this level: signature, header, base, mask and layers up to it."""
    bpp: float


class RoiFile:
    """An opened ``.roi`` file. Opening reads the header and chunk heads only; pixels decode on request."""

    def __init__(self, source: Source) -> None:
        self._owns_fp = not hasattr(source, "read")
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._fp: IO[bytes] = io.BytesIO(bytes(source))
        elif isinstance(source, (str, os.PathLike)):
            try:
                self._fp = Path(source).open("rb")
            except FileNotFoundError:
                raise FileNotFoundError(f"no such file: {os.fspath(source)}") from None
        else:
            self._fp = source
        try:
            self.layout = container.read_layout(self._fp)
        except BaseException:
            self.close()
            raise
        if not self.layout.levels_available:
            self.close()
            raise TruncatedFileError("file ends before its base layer is complete: fetch the whole file again")

    def close(self) -> None:
        """Close the file if this object opened it (a caller's file object stays open)."""
        if self._owns_fp:
            self._fp.close()

    def __enter__(self) -> "RoiFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def header(self) -> container.Header:
        return self.layout.header

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``, as Pillow gives it."""
        return self.header.width, self.header.height

    @property
    def mode(self) -> str:
        return self.header.mode

    @property
    def qualities(self) -> tuple[int, ...]:
        return self.header.qualities

    @property
    def model(self) -> tuple[str, str]:
        """Name and hash (hex) of the base-layer model that coded the file."""
        return self.header.model_name, self.header.model_hash.hex()

    @cached_property
    def metadata(self) -> dict[str, Any]:
        """The description stored with :func:`encode`'s ``metadata`` (empty if none)."""
        raw = container.read_meta(self._fp, self.layout)
        if not raw:
            return {}
        try:
            meta = json.loads(raw)
        except ValueError:
            meta = None
        if not isinstance(meta, dict):
            raise CorruptFileError("metadata chunk is not a JSON object: the file is damaged")
        return meta

    @property
    def levels(self) -> int:
        """Levels complete in this file (the header's count unless the file is truncated)."""
        return self.layout.levels_available

    @property
    def level_info(self) -> list[LevelInfo]:
        pixels = self.header.width * self.header.height
        return [LevelInfo(k, None if k == 0 else self.qualities[k - 1], n, n * 8 / pixels)
                for k, n in enumerate(self.layout.level_ends)]

    @cached_property
    def mask(self) -> np.ndarray:
        """The ROI as an ``HxW`` boolean array (all true for a base-only file)."""
        if not self.qualities or self.levels < 2:
            if self.qualities:
                raise TruncatedFileError("file ends before its mask: fetch the whole file again")
            return np.ones((self.header.height, self.header.width), bool)
        _check_pixels(self.header)
        payloads = container.read_payloads(self._fp, self.layout, 1)
        return roimask.unpack(payloads[container.MASK][0], self.header.height, self.header.width)

    @property
    def has_preview(self) -> bool:
        """Whether :meth:`preview` can run: the file's base model ships a preview head (checked without torch)."""
        return registry.has_preview(self.header.model_name)

    def preview(self) -> np.ndarray:
        """The base layer at 1/4 of the image's size (rounded up), from the model's small preview head.

        Far cheaper than :meth:`decode`: meant for thumbnails, where the enhancement layers would not show.
        """
        _check_pixels(self.header)
        data = container.read_payloads(self._fp, self.layout, 0)[container.BASE][0]
        img = base.preview(data, self.header)
        return img[..., 0] if img.shape[2] == 1 else img

    def decode(self, level: int | None = None) -> np.ndarray:
        """Pixels of ``level`` (default: the highest in the file): ``HxW`` for L, ``HxWx3`` for RGB, uint8."""
        for img in self._levels(level):
            pass
        return img

    def decode_all(self, level: int | None = None) -> list[np.ndarray]:
        """Every level from the base up to ``level`` (default: the highest), each its own array."""
        return [img.copy() for img in self._levels(level)]

    def _levels(self, level: int | None) -> Iterator[np.ndarray]:
        """Yield the base, then each level up to ``level``; the same buffer, refined in place."""
        level = self.levels - 1 if level is None else level
        if level < 0:
            raise RoiError(f"level {level} is invalid: levels count from 0 (the base)")
        _check_pixels(self.header)
        payloads = container.read_payloads(self._fp, self.layout, level)
        img = base.decode(payloads[container.BASE][0], self.header)
        view = img[..., 0] if img.shape[2] == 1 else img
        yield view
        if level:
            roi = roimask.unpack(payloads[container.MASK][0], self.header.height, self.header.width)
            for _ in ladder.decode(img, roi, payloads[container.LAYER][:level]):
                yield view


def _check_pixels(header: container.Header) -> None:
    """Honour Pillow's decompression-bomb limit before any pixel is allocated, as Pillow's own decoders do."""
    from PIL import Image

    pixels, limit = header.width * header.height, Image.MAX_IMAGE_PIXELS
    if limit and pixels > 2 * limit:
        raise Image.DecompressionBombError(
            f"image of {pixels} pixels exceeds twice PIL.Image.MAX_IMAGE_PIXELS ({limit}): raise that limit if you "
            "trust the file")
    if limit and pixels > limit:
        warnings.warn(f"image of {pixels} pixels exceeds PIL.Image.MAX_IMAGE_PIXELS ({limit})",
                      Image.DecompressionBombWarning, stacklevel=3)


def redescribe(source: Source, metadata: Mapping[str, Any] | None) -> bytes:
    """The same coded image under a new description (``metadata``); no pixel is decoded or coded again.

    A truncated file comes out whole, holding the levels it had.
    """
    with RoiFile(source) as f:
        layout = f.layout
        payloads = container.read_payloads(f._fp, layout, layout.levels_available - 1)
    layers = payloads[container.LAYER]
    header = replace(layout.header, qualities=layout.header.qualities[:len(layers)])
    mask = payloads[container.MASK][0] if layers else b""
    return container.pack(header, payloads[container.BASE][0], mask, layers, _pack_meta(metadata))


def open(source: Source) -> RoiFile:  # noqa: A001 - mirrors PIL.Image.open
    """Open a ``.roi`` file (path, bytes or binary file object) without decoding pixels."""
    return RoiFile(source)


def decode(source: Source, level: int | None = None) -> np.ndarray:
    """Decode ``level`` (default: the highest complete one) of a ``.roi`` file to a uint8 array."""
    with RoiFile(source) as f:
        return f.decode(level)

"""Encode an image and its ROI into a ``.roi`` file, and decode any level of one.

Level 0 is the base layer; level k adds enhancement layers 1..k inside the ROI.
"""

from __future__ import annotations

import io
import json
import math
import os
import warnings
from collections.abc import Mapping, Sequence
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


def _as_stack(image: ImageLike, rgb: bool | None) -> np.ndarray:
    """``(...lead, H, W, C)`` uint8 with C 1 or 3, or a one-line error that says how to get there."""
    if not isinstance(image, np.ndarray):
        mode = image.mode
        if mode in ("1", "P"):
            image = image.convert("RGB" if mode == "P" else "L")
        elif mode not in ("L", "RGB"):
            hint = "drop the alpha channel with .convert('RGB')" if "A" in mode else "convert it to 8-bit 'L' or 'RGB'"
            raise UnsupportedImageError(f"images of mode {mode!r} are not supported: {hint}")
        rgb = image.mode == "RGB"
        image = np.asarray(image)
    if image.dtype != np.uint8:
        raise UnsupportedImageError(f"images of dtype {image.dtype} are not supported: scale to uint8 first")
    if rgb is None:
        if image.ndim >= 3 and image.shape[-1] == 4:
            shape = "x".join(map(str, image.shape))
            raise UnsupportedImageError(f"image of shape {shape} looks like RGBA: drop the alpha channel "
                                        "(image[..., :3]), or pass rgb=False if it is a gray stack")
        rgb = image.ndim >= 3 and image.shape[-1] == 3
    if rgb and (image.ndim < 3 or image.shape[-1] != 3):
        shape = "x".join(map(str, image.shape))
        raise UnsupportedImageError(f"image of shape {shape} is not RGB: its last axis must have 3 channels")
    stack = image if rgb else image[..., None]
    if stack.ndim < 3 or stack.ndim > 3 + container.MAX_LEAD_AXES:
        shape = "x".join(map(str, image.shape))
        raise UnsupportedImageError(f"image of shape {shape} is not supported: pass (..., Y, X) gray or (..., Y, X, 3) "
                                    f"RGB with at most {container.MAX_LEAD_AXES} leading axes")
    h, w = stack.shape[-3:-1]
    if min(h, w) == 0 or max(h, w) > container.MAX_SIDE:
        raise UnsupportedImageError(f"image of {w}x{h} pixels is not supported: "
                                    f"each side must be 1 to {container.MAX_SIDE} pixels")
    planes = math.prod(stack.shape[:-3])
    if not 0 < planes <= container.MAX_PLANES:
        raise UnsupportedImageError(f"a stack of {planes} planes is not supported: 1 to {container.MAX_PLANES}")
    return stack


def _as_masks(mask: ImageLike | None, stack: np.ndarray) -> np.ndarray:
    """``(M, H, W)`` bool: one mask for every plane (M = 1) or one per plane."""
    lead, (h, w) = stack.shape[:-3], stack.shape[-3:-1]
    if mask is None:
        return np.ones((1, h, w), bool)
    arr = np.asarray(mask)
    if arr.ndim == len(lead) + 3 and arr.shape[-1] in (3, 4):
        arr = arr.any(axis=-1)  # an RGB(A) picture of a mask
    if arr.shape not in ((h, w), (*lead, h, w)):
        per_plane = f" or {'x'.join(map(str, (*lead, h, w)))}" if lead else ""
        raise RoiError(f"mask is {'x'.join(map(str, arr.shape[::-1][:2]))} but the image is {w}x{h}: "
                       f"pass a mask of shape {h}x{w}{per_plane}")
    masks = (arr != 0).reshape(-1, h, w)
    if not masks.any():
        raise RoiError("mask selects no pixel: mark the ROI with non-zero values, or pass no mask for the whole image")
    return masks


def encode(image: ImageLike, mask: ImageLike | None = None, path: str | os.PathLike | None = None, *,
           qualities: Sequence[int] = DEFAULT_QUALITIES, model: str | None = None,
           tile: int = DEFAULT_TILE, metadata: Mapping[str, Any] | None = None, rgb: bool | None = None) -> bytes:
    """Code ``image`` with its ROI and return the ``.roi`` bytes; also write them atomically to ``path`` if given.

    Args:
        image: uint8 array ``(Y, X)`` gray or ``(Y, X, 3)`` RGB, or a stack of them with up to four leading axes
            (e.g. ``(Z, Y, X)``), coded plane by plane into one file; or a PIL image of mode L or RGB (1 and P are
            converted).
        mask: ROI where non-zero: ``(Y, X)`` for every plane, or one per plane with the stack's leading axes;
            ``None`` makes the whole image the ROI. A plane's mask may be empty, the whole mask may not.
        qualities: JPEG quality of each enhancement layer, lowest first; empty for a base-only file.
        model: base-layer model name (default: the package's default model).
        tile: base-layer tile side in pixels, a multiple of 16 (at least 64); bounds memory on large images.
        metadata: JSON-serialisable description kept in the file (e.g. a layer's ``name`` and ``scale``).
        rgb: whether the last axis holds RGB channels; by default it does when it has length 3.
    """
    stack = _as_stack(image, rgb)
    masks = _as_masks(mask, stack)
    qualities = tuple(int(q) for q in qualities)
    if len(qualities) > container.MAX_LAYERS or not all(1 <= q <= 100 for q in qualities):
        raise RoiError(f"qualities {qualities} are invalid: give at most {container.MAX_LAYERS} values in 1..100")
    if tile < container.MIN_TILE or tile % 16 or tile // 16 >= 1 << 16:
        raise RoiError(f"tile {tile} is invalid: use a multiple of 16 from 64 up, for example {DEFAULT_TILE}")
    identity = registry.info(model)
    h, w, c = stack.shape[-3:]
    header = container.Header(w, h, "L" if c == 1 else "RGB", qualities, identity.name, identity.hash, tile,
                              planes=stack.shape[:-3], mask_per_plane=len(masks) > 1)
    planes = stack.reshape(-1, h, w, c)
    bases, layers = [], [[] for _ in qualities]
    for p, plane in enumerate(planes):
        base_data, base_layer = base.encode(plane, identity.name, tile)
        bases.append(base_data)
        if qualities:
            roi = masks[p % len(masks)]
            tiles: list[list[bytes]] = [[] for _ in qualities]
            # One tile at a time: the base never exists whole, so memory stays bounded on huge planes.
            for i, (ys, xs, *_) in enumerate(base_layer.tiles):
                payloads = ladder.encode_tile(plane[ys, xs], base_layer.tile(i), roi[ys, xs], qualities)
                for k, payload in enumerate(payloads):
                    tiles[k].append(payload)
            for k, layer_tiles in enumerate(tiles):
                layers[k].append(ladder.pack_tiles(layer_tiles))
    data = container.pack(header, bases, [roimask.pack(m) for m in masks], layers, _pack_meta(metadata))
    if path is not None:
        write_bytes(path, data)
    return data


def _pack_meta(metadata: Mapping[str, Any] | None) -> bytes:
    if not metadata:
        return b""
    try:
        data = json.dumps(dict(metadata), separators=(",", ":"), sort_keys=True, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise RoiError(f"metadata is not JSON-serialisable ({exc}): pass str, number, bool, list and dict values") from None
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

    def verify(self) -> None:
        """Read every chunk up to the highest level and check its CRC; raise :class:`CorruptFileError` on damage."""
        container.read_payloads(self._fp, self.layout, self.levels - 1)

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

    @property
    def planes(self) -> tuple[int, ...]:
        """Leading axes of a stack (e.g. ``(Z,)`` or ``(T, Z)``); ``()`` for a single image."""
        return self.header.planes

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of a decoded level: ``(...planes, Y, X)`` for gray, ``(...planes, Y, X, 3)`` for RGB."""
        return (*self.planes, self.header.height, self.header.width) + ((3,) if self.mode == "RGB" else ())

    def _plane_index(self, plane: int | Sequence[int]) -> int:
        count = self.header.plane_count
        try:
            index = int(np.ravel_multi_index(tuple(plane), self.planes)) if not isinstance(plane, int) else plane
        except (TypeError, ValueError):
            index = -1
        if not 0 <= index < count:
            raise RoiError(f"plane {plane} is not in this file: it holds {count} plane(s), shape {self.planes}")
        return index

    @cached_property
    def mask(self) -> np.ndarray:
        """The ROI, boolean: ``(Y, X)`` when one mask serves every plane, ``(...planes, Y, X)`` when each has its own;
        all true for a base-only file."""
        hw = (self.header.height, self.header.width)
        if not self.header.mask_per_plane:
            return self.plane_mask(0)
        return np.stack([self.plane_mask(p) for p in range(self.header.plane_count)]).reshape(*self.planes, *hw)

    def plane_mask(self, plane: int | Sequence[int]) -> np.ndarray:
        """The ``(Y, X)`` ROI of one plane."""
        index = self._plane_index(plane)
        if not self.qualities or self.levels < 2:
            if self.qualities:
                raise TruncatedFileError("file ends before its mask: fetch the whole file again")
            return np.ones((self.header.height, self.header.width), bool)
        _check_pixels(self.header)
        payloads = container.read_payloads(self._fp, self.layout, 1, index)
        return roimask.unpack(payloads[container.MASK][0], self.header.height, self.header.width)

    @property
    def has_preview(self) -> bool:
        """Whether :meth:`preview` can run: the file's base model ships a preview head (checked without torch)."""
        return registry.has_preview(self.header.model_name)

    def preview(self, plane: int | Sequence[int] = 0) -> np.ndarray:
        """One plane's base layer at 1/4 of its size (rounded up), from the model's small preview head.

        Far cheaper than :meth:`decode`: meant for thumbnails, where the enhancement layers would not show.
        """
        _check_pixels(self.header)
        data = container.read_payloads(self._fp, self.layout, 0, self._plane_index(plane))[container.BASE][0]
        img = base.preview(data, self.header)
        return img[..., 0] if img.shape[2] == 1 else img

    def decode(self, level: int | None = None, plane: int | Sequence[int] | None = None) -> np.ndarray:
        """Pixels of ``level`` (default: the highest in the file), uint8, of shape :attr:`shape`; with ``plane`` (a
        flat index or an index per leading axis), of that plane only."""
        level = self._level(level)
        planes = [self._plane_index(plane)] if plane is not None else range(self.header.plane_count)
        out = np.empty((len(planes), *self._plane_shape), np.uint8)
        for i, p in enumerate(planes):
            self._decode_plane(level, p, {level: out[i]})
        return out.reshape(self.shape[len(self.planes):] if plane is not None else self.shape)

    def decode_all(self, level: int | None = None, plane: int | Sequence[int] | None = None) -> list[np.ndarray]:
        """Every level from the base up to ``level`` (default: the highest), each its own array, as :meth:`decode`
        gives them."""
        level = self._level(level)
        planes = [self._plane_index(plane)] if plane is not None else range(self.header.plane_count)
        out = np.empty((level + 1, len(planes), *self._plane_shape), np.uint8)
        for i, p in enumerate(planes):
            self._decode_plane(level, p, {k: out[k, i] for k in range(level + 1)})
        shape = self.shape[len(self.planes):] if plane is not None else self.shape
        return [o.reshape(shape) for o in out]

    @property
    def _plane_shape(self) -> tuple[int, int, int]:
        return self.header.height, self.header.width, 3 if self.mode == "RGB" else 1

    def _level(self, level: int | None) -> int:
        level = self.levels - 1 if level is None else level
        if level < 0:
            raise RoiError(f"level {level} is invalid: levels count from 0 (the base)")
        return level

    def _decode_plane(self, level: int, plane: int, targets: dict[int, np.ndarray]) -> None:
        """Decode one plane up to ``level``, tile by tile, writing level k into ``targets[k]`` (``(Y, X, C)``)."""
        _check_pixels(self.header)
        payloads = container.read_payloads(self._fp, self.layout, level, plane)
        base_layer = base.decode(payloads[container.BASE][0], self.header)
        count = len(base_layer.tiles)
        layers = [ladder.unpack_tiles(layer, count) for layer in payloads[container.LAYER][:level]]
        roi = roimask.unpack(payloads[container.MASK][0], self.header.height, self.header.width) if level else None
        for i, (ys, xs, *_) in enumerate(base_layer.tiles):
            img = base_layer.tile(i)
            if 0 in targets:
                targets[0][ys, xs] = img
            if level:
                for k, refined in enumerate(ladder.decode_tile(img, roi[ys, xs], [t[i] for t in layers]), 1):
                    if k in targets:
                        targets[k][ys, xs] = refined


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
    count = layout.header.plane_count
    flat = payloads[container.LAYER]
    layers = [flat[i:i + count] for i in range(0, len(flat), count)]
    header = replace(layout.header, qualities=layout.header.qualities[:len(layers)])
    masks = payloads[container.MASK] if layers else []
    return container.pack(header, payloads[container.BASE], masks, layers, _pack_meta(metadata))


def open(source: Source) -> RoiFile:  # noqa: A001 - mirrors PIL.Image.open
    """Open a ``.roi`` file (path, bytes or binary file object) without decoding pixels."""
    return RoiFile(source)


def decode(source: Source, level: int | None = None, plane: int | Sequence[int] | None = None) -> np.ndarray:
    """Decode ``level`` (default: the highest complete one) of a ``.roi`` file, or of one plane of a stack."""
    with RoiFile(source) as f:
        return f.decode(level, plane)

"""Encode an image and its ROI into a ``.roi`` file, and decode any level of one.

Level 0 is the base layer; level k adds enhancement layers 1..k inside the ROI.
"""

from __future__ import annotations

import ctypes
import io
import json
import math
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from functools import cache, cached_property, partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, Self, TypeVar, Union, overload, runtime_checkable

import numpy as np

from roicodec import atomic, base, container, ladder
from roicodec import mask as roimask
from roicodec.errors import CorruptFileError, RoiError, TruncatedFileError, UnsupportedImageError
from roicodec.models import registry

if TYPE_CHECKING:
    from PIL import Image

Source = str | os.PathLike | bytes | IO[bytes]

DEFAULT_QUALITIES = (75, 90, 100)
DEFAULT_TILE = 1024
_COPY_BLOCK = 1 << 20


@runtime_checkable
class ArrayLike(Protocol):
    """An array that need not be in memory: NumPy-style slicing reads a block of it (``np.memmap``, a zarr or dask
    array, ``tifffile.memmap``, an h5py dataset). The codec reads images and masks through it a tile or a band of
    rows at a time, and decodes into one a tile at a time."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    @property
    def dtype(self) -> Any: ...

    def __getitem__(self, key: Any) -> Any: ...


ImageLike = Union[np.ndarray, "Image.Image", ArrayLike]
OutArray = TypeVar("OutArray", bound=ArrayLike)
"""An array that decoding writes into, a tile at a time (assignment of NumPy-style slices)."""


def _shape_text(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape))


Window = tuple[float, float]
"""``(low, high)``: the intensities that map to 0 and 255 when an image of more than 8 bits is coded."""

WINDOW_PERCENTILES = (0.1, 99.9)
"""What ``window="auto"`` takes as ``(low, high)``: these percentiles of the image's intensities."""

_WINDOW_SAMPLES = 1 << 22
"""About how many pixels ``window="auto"`` reads to find its percentiles (a strided subset of a large image)."""

_SPATIAL = frozenset("YXS")


class _Plane:
    """One plane of the image, described and sliced as an ``(Y, X, C)`` uint8 array (what the base model and the
    layers take); each slice is read from the source when asked for, so the plane never has to be whole in memory."""

    def __init__(self, source: ArrayLike, prefix: tuple[int, ...], shape: tuple[int, int, int], channel_axis: bool,
                 window: Window | None) -> None:
        self._source, self._prefix, self._channel_axis, self._window = source, prefix, channel_axis, window
        self.shape = shape
        self.dtype = np.dtype(np.uint8)
        self.ndim = 3

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        # Every read starts a tile (the model's analysis, then the layers, read each tile once), and by then the last
        # tile's temporaries are free: give them back first, so that tiles do not pile up in the heap.
        _trim_heap()
        block = np.asarray(self._source[(*self._prefix, *key)])
        if self._window is not None:
            block = _apply_window(block, self._window)
        return block if self._channel_axis else block[..., None]


def _apply_window(block: np.ndarray, window: Window) -> np.ndarray:
    low, high = window
    scaled = (block.astype(np.float64) - low) * (255 / (high - low))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _parse_axes(axes: str, shape: tuple[int, ...]) -> bool:
    """Check ``axes`` against ``shape``; return whether the image is RGB (its last axis ``S`` or ``C`` of 3)."""
    text = _shape_text(shape)
    if not isinstance(axes, str) or len(axes) != len(shape) or len(set(axes)) != len(axes) or not axes.isalpha() \
            or not axes.isupper():
        raise UnsupportedImageError(f"axes {axes!r} do not fit an image of shape {text}: give one distinct capital "
                                    f"letter per axis ({len(shape)}), e.g. 'ZYX' or 'TZYXS'")
    channel = axes[-1] in "SC" and axes[-3:-1] == "YX"
    if not (axes.endswith("YX") or channel):
        raise UnsupportedImageError(f"axes {axes!r} must end with 'YX' (gray) or 'YXS' (RGB samples), e.g. 'ZYX'")
    if channel and shape[-1] not in (1, 3):
        raise UnsupportedImageError(f"axes {axes!r} put {shape[-1]} samples on the last axis: roicodec codes 3 (RGB) "
                                    "or 1 (gray); put other channels on a leading axis, e.g. 'CYX'")
    lead = axes[:-3] if channel else axes[:-2]
    if _SPATIAL & set(lead):
        raise UnsupportedImageError(f"axes {axes!r}: Y, X and S may appear only at the end")
    return channel and shape[-1] == 3


class _Planes:
    """The image as planes, checked up front (mode, depth, size, axes) but read later, block by block."""

    def __init__(self, image: ImageLike, rgb: bool | None, axes: str | None = None,
                 window: Window | str | None = None) -> None:
        if _is_pil(image):
            image = _pil_array(image)
        elif not isinstance(image, ArrayLike):
            image = np.asarray(image)
        shape = tuple(image.shape)
        text = _shape_text(shape)
        try:
            dtype = np.dtype(image.dtype)
        except TypeError:  # a dtype NumPy does not know, e.g. torch's
            raise UnsupportedImageError(f"images of dtype {image.dtype} are not supported: pass a NumPy array") from None
        if dtype.kind not in "uif":
            raise UnsupportedImageError(f"images of dtype {dtype} are not supported: pass integers or floats")
        channel_axis = False  # whether the source has a channel axis of its own (RGB, or gray as (..., Y, X, 1))
        if axes is not None:
            is_rgb = _parse_axes(axes, shape)
            if rgb is not None and rgb != is_rgb:
                raise UnsupportedImageError(f"rgb={rgb} contradicts axes {axes!r}: give one of them")
            rgb, channel_axis = is_rgb, axes[-1] in "SC"
        elif rgb is None:
            if len(shape) >= 3 and shape[-1] == 4:
                raise UnsupportedImageError(f"image of shape {text} looks like RGBA: drop the alpha channel (keep the "
                                            "first 3 channels), or pass axes (e.g. axes='ZYX') if it is a gray stack")
            if len(shape) >= 3 and shape[-1] == 1:
                rgb, channel_axis = False, True  # (..., Y, X, 1): one gray channel, as Pillow and tifffile write it
            elif len(shape) >= 3 and shape[-1] != 3 and shape[-1] <= _MAX_CHANNELS:
                raise UnsupportedImageError(
                    f"image of shape {text} is ambiguous: its last axis of {shape[-1]} looks like channels, and "
                    "roicodec codes gray or RGB; pass axes='ZYX' (or 'TZYX', ...) to code it as a stack of "
                    f"{shape[-3] if len(shape) >= 3 else 1} planes, or one channel at a time (image[..., c])")
            else:
                rgb = len(shape) >= 3 and shape[-1] == 3
        if rgb and (len(shape) < 3 or shape[-1] != 3):
            raise UnsupportedImageError(f"image of shape {text} is not RGB: its last axis must have 3 channels")
        channel_axis = channel_axis or bool(rgb)
        stack = shape if channel_axis else (*shape, 1)
        if len(stack) < 3 or len(stack) > 3 + container.MAX_LEAD_AXES:
            raise UnsupportedImageError(f"image of shape {text} is not supported: pass (..., Y, X) gray or "
                                        f"(..., Y, X, 3) RGB with at most {container.MAX_LEAD_AXES} leading axes")
        h, w, c = stack[-3:]
        if min(h, w) == 0 or max(h, w) > container.MAX_SIDE:
            raise UnsupportedImageError(f"image of {w}x{h} pixels is not supported: "
                                        f"each side must be 1 to {container.MAX_SIDE} pixels")
        self.lead: tuple[int, ...] = stack[:-3]
        self.count = math.prod(self.lead)
        if not 0 < self.count <= container.MAX_PLANES:
            raise UnsupportedImageError(f"a stack of {self.count} planes is not supported: 1 to {container.MAX_PLANES}")
        self.height, self.width, self.channels = h, w, c
        self._channel_axis = channel_axis
        self._source = image
        self.window = _window(image, dtype, window)

    def plane(self, index: int) -> _Plane:
        prefix = tuple(int(i) for i in np.unravel_index(index, self.lead)) if self.lead else ()
        return _Plane(self._source, prefix, (self.height, self.width, self.channels), self._channel_axis,
                      self.window)


_MAX_CHANNELS = 16
"""A last axis this short (and not 3) reads as channels, not as a stack's X: refused unless ``axes`` says which."""


def _window(image: ArrayLike, dtype: np.dtype, window: Window | str | None) -> Window | None:
    """The intensity window that maps ``image`` to 8 bits: ``None`` for uint8 data without one."""
    if window is None:
        if dtype == np.uint8:
            return None
        depth = f"{dtype.itemsize * 8}-bit" if dtype.kind in "ui" else "floating-point"
        raise UnsupportedImageError(
            f"images of dtype {dtype} ({depth}) are coded through an 8-bit intensity window: pass window='auto' "
            f"(CLI: --window auto; the {WINDOW_PERCENTILES[0]}th to {WINDOW_PERCENTILES[1]}th percentiles) or "
            "window=(LOW, HIGH) (CLI: --window LOW,HIGH)")
    if isinstance(window, str):
        if window != "auto":
            raise UnsupportedImageError(f"window {window!r} is invalid: give 'auto' or (LOW, HIGH)")
        low, high = _percentiles(image)
        if high <= low:  # a flat image: any window that holds its one value
            high = low + 1
    else:
        try:
            low, high = (float(v) for v in window)
        except (TypeError, ValueError):
            raise UnsupportedImageError(f"window {window!r} is invalid: give 'auto' or (LOW, HIGH)") from None
        if not (math.isfinite(low) and math.isfinite(high) and high > low):
            raise UnsupportedImageError(f"window {window!r} is invalid: LOW and HIGH must be finite, with HIGH > LOW")
    return (low, high)


def _percentiles(image: ArrayLike) -> Window:
    shape = tuple(image.shape)
    step = max(1, math.isqrt(math.prod(shape) // _WINDOW_SAMPLES))
    # A strided subset in Y and X (the first axes, in case channels are last) reads a bounded share of a large image.
    key = tuple(slice(None, None, step) for _ in shape)
    sample = np.asarray(image[key], dtype=np.float64)
    sample = sample[np.isfinite(sample)]
    if not sample.size:
        raise UnsupportedImageError("image holds no finite value: nothing to code")
    low, high = np.percentile(sample, WINDOW_PERCENTILES)
    return float(low), float(high)


def _pil_array(image: Image.Image) -> np.ndarray:
    """A PIL image's pixels as the array the codec takes: modes 1 and P become L and RGB; 16-bit and 32-bit gray
    keep their values (they then need a window); alpha is refused."""
    mode = image.mode
    if mode in ("1", "P"):
        image = image.convert("RGB" if mode == "P" else "L")
        mode = image.mode
    if mode in ("LA", "La", "PA"):
        raise UnsupportedImageError(f"images of mode {mode!r} carry alpha, which roicodec does not code: drop it to gray "
                                    "(mode L; in Python image.convert('L'))")
    if mode in ("RGBA", "RGBa"):
        raise UnsupportedImageError(f"images of mode {mode!r} carry alpha, which roicodec does not code: drop it to RGB "
                                    "(in Python image.convert('RGB'))")
    if mode not in ("L", "RGB", "I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        raise UnsupportedImageError(f"images of mode {mode!r} are not supported: save them as gray (L, 16-bit) or RGB")
    return np.asarray(image)


@cache
def _heap_trimmer() -> Callable[[], object]:
    """glibc's ``malloc_trim(0)``, or nothing on a C library without it.

    glibc keeps what a tile frees (torch's convolution buffers above all, a few hundred MiB) in its heaps and reuses
    it only in part: without handing it back before each tile, a process holds about 200 MiB more once a plane spans
    a few tiles. Giving it back costs page faults on the next tile, about 15% more CPU time on large planes and 4% on
    a one-tile image (docs/scaling.md). Dask's workers trim for the same reason.
    """
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):  # no such symbol (macOS, musl), or no process handle (Windows)
        return lambda: None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return partial(trim, 0)


def _trim_heap() -> None:
    _heap_trimmer()()


def _is_pil(image: object) -> bool:
    from PIL import Image

    return isinstance(image, Image.Image)


class _Masks:
    """The ROI: one mask for every plane, or one per plane, read a band of rows or a tile at a time."""

    def __init__(self, mask: ImageLike | None, planes: _Planes) -> None:
        lead, h, w = planes.lead, planes.height, planes.width
        self.count = 1
        self._source: ArrayLike | None = None
        self._lead: tuple[int, ...] = ()
        self._samples = 0
        if mask is None:
            self.extents = [roimask.Extent((slice(0, h), slice(0, w)), True)]
            return
        if _is_pil(mask):
            mask = _pil_mask(mask)
        elif not isinstance(mask, ArrayLike):
            mask = np.asarray(mask)
        shape = tuple(mask.shape)
        if len(shape) in (3, len(lead) + 3) and shape[-1] in (1, 2, 3, 4) and shape[-3:-1] == (h, w):
            # A picture of a mask, gray or colour, maybe with alpha (2 = LA, 4 = RGBA) as image editors save it.
            self._samples, shape = shape[-1], shape[:-1]
        if shape not in ((h, w), (*lead, h, w)):
            per_plane = f" or {_shape_text((*lead, h, w))}" if lead else ""
            raise RoiError(f"mask is {_shape_text(shape[::-1][:2])} but the image is {w}x{h}: "
                           f"pass a mask of shape {h}x{w}{per_plane}")
        self._source, self._lead = mask, lead if len(shape) > 2 else ()
        self.count = math.prod(self._lead)
        # One pass over each mask before anything is coded: an empty ROI is refused before any output exists, and
        # the box and whether the ROI fills it are known when the mask's chunk is written.
        self.extents = [roimask.scan(self.region(m), h, w) for m in range(self.count)]
        if all(e.box is None for e in self.extents):
            raise RoiError("mask selects no pixel: mark the ROI with non-zero values, or pass no mask for the whole image")

    def region(self, index: int) -> roimask.Region:
        """Reads mask ``index`` over rows ``ys`` and columns ``xs``, as booleans."""
        prefix = tuple(int(i) for i in np.unravel_index(index, self._lead)) if self.count > 1 else ()
        samples = self._samples

        def read(ys: slice, xs: slice) -> np.ndarray:
            if self._source is None:
                return np.ones((ys.stop - ys.start, xs.stop - xs.start), bool)
            block = np.asarray(self._source[(*prefix, ys, xs)])
            if not samples:
                return block != 0
            if samples in (2, 4):  # alpha only takes away: a transparent pixel is out, an opaque one keeps its value
                return (block[..., :-1] != 0).any(axis=-1) & (block[..., -1] != 0)
            return (block != 0).any(axis=-1)

        return read

    def pack_into(self, index: int, write: Callable[[bytes], object]) -> None:
        roimask.pack_into(self.region(index), self.extents[index], write)


def _pil_mask(mask: Image.Image) -> np.ndarray:
    """A mask drawn as a picture: its gray or colour values mark the ROI, its alpha (if any) only removes pixels."""
    if mask.mode == "P":
        mask = mask.convert("RGBA" if "transparency" in mask.info else "RGB")
    elif mask.mode == "PA":
        mask = mask.convert("RGBA")
    return np.asarray(mask)


def _source_files(*sources: object) -> list[str]:
    """The files on disk that ``sources`` (PIL images, memory maps) read from: an output there would destroy them."""
    files = []
    for source in sources:
        name = getattr(source, "filename", None)
        if isinstance(name, (str, os.PathLike)) and name:
            files.append(os.fspath(name))
    return files


def encode(image: ImageLike, mask: ImageLike | None = None, path: str | os.PathLike[str] | None = None, *,
           qualities: Sequence[int] = DEFAULT_QUALITIES, model: str | None = None,
           tile: int = DEFAULT_TILE, metadata: Mapping[str, Any] | None = None, rgb: bool | None = None,
           axes: str | None = None, window: Window | str | None = None) -> bytes | None:
    """Code ``image`` with its ROI: return the ``.roi`` bytes, or with ``path``, write them there and return ``None``.

    The image and the mask are read a tile (or a band of rows) at a time, so an image that is not in memory (an
    ``np.memmap``, a zarr or dask array) stays out of it; with ``path`` the file is written chunk by chunk and never
    held whole either. Memory then stays about the same whatever the image's size (docs/scaling.md).

    Args:
        image: uint8 array ``(Y, X)`` or ``(Y, X, 1)`` gray or ``(Y, X, 3)`` RGB, or a stack of them with up to four
            leading axes (e.g. ``(Z, Y, X)``), coded plane by plane into one file; or a PIL image of mode L or RGB (1
            and P are converted; I;16, I and F need ``window``); or any :class:`ArrayLike` of those shapes. A last
            axis of 2, 4 or up to 16 is refused as ambiguous unless ``axes`` says what it is.
        mask: ROI where non-zero: ``(Y, X)`` for every plane, or one per plane with the stack's leading axes; a
            picture of one (gray, RGB, or with alpha, where alpha 0 removes a pixel) is read from its values.
            ``None`` makes the whole image the ROI. A plane's mask may be empty, the whole mask may not.
        path: where to write the file: a regular file is replaced atomically (a failure leaves whatever was there
            intact, and no temporary file), a symbolic link's target likewise; a FIFO or device is written straight
            through. A path that is the file ``image`` or ``mask`` was read from is refused.
        qualities: JPEG quality of each enhancement layer, lowest first and increasing; empty for a base-only file.
        model: base-layer model name (default: the package's default model).
        tile: base-layer tile side in pixels, a multiple of 16 (at least 64); bounds memory on large images.
        metadata: JSON-serialisable description kept in the file (e.g. a layer's ``name`` and ``scale``).
        rgb: whether the last axis holds RGB channels; by default it does when it has length 3.
        axes: one letter per axis of ``image``, ending in ``YX`` (gray) or ``YXS`` (RGB samples), e.g. ``"ZYX"``
            or ``"TZYXS"``: says which axes are a stack where the shape alone is ambiguous. Kept in the file's
            metadata as ``axes``.
        window: for images of more than 8 bits (or floats): ``(low, high)``, the intensities mapped to 0 and 255
            (linearly, clipped), or ``"auto"`` for the image's :data:`WINDOW_PERCENTILES`. Kept in the file's
            metadata as ``window``.
    """
    planes = _Planes(image, rgb, axes, window)
    qualities = tuple(int(q) for q in qualities)
    if len(qualities) > container.MAX_LAYERS or not all(1 <= q <= 100 for q in qualities):
        raise RoiError(f"qualities {qualities} are invalid: give at most {container.MAX_LAYERS} values in 1..100")
    if any(b <= a for a, b in zip(qualities, qualities[1:])):
        raise RoiError(f"qualities {','.join(map(str, qualities))} do not increase: each layer must be of a higher "
                       "quality than the one below it (e.g. 75,90,100), or it adds bytes and nothing else")
    if tile < container.MIN_TILE or tile % 16 or tile // 16 >= 1 << 16:
        raise RoiError(f"tile {tile} is invalid: use a multiple of 16 from 64 up, for example {DEFAULT_TILE}")
    described = dict(metadata or {})
    if axes is not None:
        described.setdefault("axes", axes)
    if planes.window is not None:
        described.setdefault("window", list(planes.window))
    meta = _pack_meta(described)
    identity = registry.info(model)
    masks = _Masks(mask, planes)
    header = container.Header(planes.width, planes.height, "L" if planes.channels == 1 else "RGB", qualities,
                              identity.name, identity.hash, tile, planes=planes.lead, mask_per_plane=masks.count > 1)
    if path is None:
        buf = io.BytesIO()
        _write(buf, header, meta, planes, masks, io.BytesIO)
        return buf.getvalue()
    with atomic.replacing(path, inputs=_source_files(image, mask)) as fp:
        if atomic.streams(path):
            # A FIFO or device cannot seek back to fill in chunk lengths: code into a temporary file, then copy.
            with tempfile.TemporaryFile() as whole:
                _write(whole, header, meta, planes, masks, tempfile.TemporaryFile)
                whole.seek(0)
                shutil.copyfileobj(whole, fp, _COPY_BLOCK)
        else:
            # Scratch files beside the output, not in /tmp: the same disk has room for them, and /tmp may be in memory.
            _write(fp, header, meta, planes, masks, partial(tempfile.TemporaryFile, dir=Path(fp.name).parent))
    return None


def _write(fp: IO[bytes], header: container.Header, meta: bytes, planes: _Planes, masks: _Masks,
           scratch: Callable[[], IO[bytes]]) -> None:
    """Code the planes into ``fp`` in the file's order, one tile at a time."""
    writer = container.Writer(fp, header, meta)
    with ExitStack() as stack:
        # Each plane's layers are made right after its base, from the latent in hand, but the file puts them after
        # every base and the masks: they wait in a scratch file per layer and are copied into place at the end.
        spills = [stack.enter_context(scratch()) for _ in header.qualities]
        spans: list[list[tuple[int, int]]] = [[] for _ in header.qualities]
        for p in range(planes.count):
            plane = planes.plane(p)
            base_data, base_layer = base.encode(plane, header.model_name, header.tile)
            writer.add(container.BASE, base_data)
            if not spills:
                continue
            region = masks.region(p % masks.count)
            starts = [s.tell() for s in spills]
            for i, (ys, xs, *_) in enumerate(base_layer.tiles):
                payloads = ladder.encode_tile(plane[ys, xs], base_layer.tile(i), region(ys, xs), header.qualities)
                for spill, payload in zip(spills, payloads):
                    spill.write(ladder.tile_entry(payload))
            for layer, spill, start in zip(spans, spills, starts):
                layer.append((start, spill.tell() - start))
        if spills:
            for m in range(masks.count):
                with writer.chunk(container.MASK) as sink:
                    masks.pack_into(m, sink.write)
            for layer, spill in zip(spans, spills):
                for start, length in layer:
                    with writer.chunk(container.LAYER) as sink:
                        _copy(spill, start, length, sink.write)
    writer.close()


def _copy(src: IO[bytes], start: int, length: int, write: Callable[[bytes], object]) -> None:
    src.seek(start)
    while length:
        block = src.read(min(length, _COPY_BLOCK))
        if not block:
            raise OSError(f"scratch file ended {length} bytes early")
        write(block)
        length -= len(block)


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
                self._fp = Path(source).open("rb")  # noqa: SIM115 - held until close(): reads are lazy
            except FileNotFoundError:
                raise FileNotFoundError(f"no such file: {os.fspath(source)}") from None
        else:
            self._fp = source
        if not self._fp.seekable():  # a pipe or FIFO: chunks are found by seeking, so hold the bytes
            data = self._fp.read()
            self.close()
            self._fp, self._owns_fp = io.BytesIO(data), True
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

    def __enter__(self) -> Self:
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
        container.check_payloads(self._fp, self.layout, self.levels - 1)

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

    def intact_levels(self) -> int:
        """How many levels, from the base up, pass their CRC-32 checks (reads every chunk up to the highest level);
        :attr:`levels` when the file is undamaged."""
        return container.intact_levels(self._fp, self.layout)

    @property
    def level_info(self) -> list[LevelInfo]:
        """Bytes and bits per pixel of each level present; for a stack, bpp counts the pixels of every plane."""
        pixels = self.header.width * self.header.height * self.header.plane_count
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

    @overload
    def decode(self, level: int | None = None, plane: int | Sequence[int] | None = None) -> np.ndarray: ...

    @overload
    def decode(self, level: int | None = None, plane: int | Sequence[int] | None = None, *, out: OutArray) -> OutArray:
        ...

    def decode(self, level: int | None = None, plane: int | Sequence[int] | None = None, *,
               out: OutArray | None = None) -> np.ndarray | OutArray:
        """Pixels of ``level`` (default: the highest in the file), uint8, of shape :attr:`shape`; with ``plane`` (a
        flat index or an index per leading axis), of that plane only.

        With ``out`` (an array of exactly that shape and dtype uint8, e.g. an ``np.memmap`` or a zarr array), the
        pixels are written into it a tile at a time and ``out`` is returned: the decoded plane is never whole in
        memory. If decoding fails part way (a damaged file), ``out`` holds the tiles written before the failure.
        """
        level = self._level(level)
        planes = self._planes_for(plane)
        shape = self.shape[len(self.planes):] if plane is not None else self.shape
        if out is not None:
            _check_out(out, shape)
        _check_pixels(self.header)
        target = np.empty(shape, np.uint8) if out is None else out
        for p, prefix in planes:
            self._decode_plane(level, p, {level: (target, prefix)})
        return target

    def decode_all(self, level: int | None = None, plane: int | Sequence[int] | None = None) -> list[np.ndarray]:
        """Every level from the base up to ``level`` (default: the highest), each its own array, as :meth:`decode`
        gives them."""
        level = self._level(level)
        planes = self._planes_for(plane)
        shape = self.shape[len(self.planes):] if plane is not None else self.shape
        _check_pixels(self.header)
        targets = [np.empty(shape, np.uint8) for _ in range(level + 1)]
        for p, prefix in planes:
            self._decode_plane(level, p, {k: (t, prefix) for k, t in enumerate(targets)})
        return targets

    def _planes_for(self, plane: int | Sequence[int] | None) -> list[tuple[int, tuple[int, ...]]]:
        """The planes to decode, each with its index into the output (empty for one plane asked by ``plane``)."""
        if plane is not None:
            return [(self._plane_index(plane), ())]
        return [(p, tuple(int(i) for i in np.unravel_index(p, self.planes)) if self.planes else ())
                for p in range(self.header.plane_count)]

    def _level(self, level: int | None) -> int:
        level = self.levels - 1 if level is None else level
        if level < 0:
            raise RoiError(f"level {level} is invalid: levels count from 0 (the base)")
        top = self.header.levels - 1
        if level > top:
            raise RoiError(f"level {level} is not in this file: it has {_levels_text(top)}")
        if level >= self.levels:
            raise TruncatedFileError(f"level {level} is missing: the file is truncated and holds "
                                     f"{_levels_text(self.levels - 1)} of {top + 1}; ask for a lower level, or "
                                     "fetch the whole file again")
        return level

    def _decode_plane(self, level: int, plane: int, targets: dict[int, tuple[Any, tuple[int, ...]]]) -> None:
        """Decode one plane up to ``level``, tile by tile, writing level k into ``targets[k]``: an array of
        :attr:`shape` (or of one plane's), and the plane's index into it."""
        fp = self._fp
        chunks = container.check_payloads(fp, self.layout, level, plane)
        base_layer = base.decode(container.read_data(fp, chunks[container.BASE][0]), self.header)
        count = len(base_layer.tiles)
        # Layers and the mask are read a tile (or a band of tiles) at a time: a huge plane's are never whole here.
        layers = [ladder.TileTable(partial(container.read_data, fp, c), c.length, count)
                  for c in chunks[container.LAYER][:level]]
        roi = None
        if level:
            data = container.read_data(fp, chunks[container.MASK][0])
            roi = roimask.Reader(data, self.header.height, self.header.width)
        gray = self.mode == "L"
        for i, (ys, xs, *_) in enumerate(base_layer.tiles):
            _trim_heap()  # as in encoding: the last tile's temporaries go back to the system, not to the next tile
            img = base_layer.tile(i)
            if 0 in targets:
                _put(targets[0], ys, xs, img, gray)
            if roi is not None:
                payloads = [t[i] for t in layers]
                for k, refined in enumerate(ladder.decode_tile(img, roi.region(ys, xs), payloads), 1):
                    if k in targets:
                        _put(targets[k], ys, xs, refined, gray)


def _levels_text(top: int) -> str:
    return "only the base, level 0" if top == 0 else f"levels 0 (the base) to {top}"


def _put(target: tuple[Any, tuple[int, ...]], ys: slice, xs: slice, tile: np.ndarray, gray: bool) -> None:
    array, prefix = target
    array[(*prefix, ys, xs)] = tile[..., 0] if gray else tile


def _check_out(out: Any, shape: tuple[int, ...]) -> None:
    """Refuse an ``out`` array that the decoded pixels would not fill exactly, before anything is decoded."""
    got = tuple(getattr(out, "shape", ()))
    try:
        dtype = np.dtype(getattr(out, "dtype", None))
    except TypeError:
        dtype = None
    if got != shape or dtype != np.uint8:
        raise RoiError(f"out is {_shape_text(got)} {dtype} but this decodes to {_shape_text(shape)} uint8: pass an "
                       f"array of that shape and dtype, e.g. np.lib.format.open_memmap(path, 'w+', np.uint8, {shape})")
    if isinstance(out, np.ndarray) and not out.flags.writeable:
        raise RoiError("out is read-only: open it for writing (np.memmap mode 'r+' or 'w+')")


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


def open(source: Source) -> RoiFile:  # shadows the builtin on purpose: mirrors PIL.Image.open
    """Open a ``.roi`` file (path, bytes or binary file object) without decoding pixels."""
    return RoiFile(source)


@overload
def decode(source: Source, level: int | None = None, plane: int | Sequence[int] | None = None) -> np.ndarray: ...


@overload
def decode(source: Source, level: int | None = None, plane: int | Sequence[int] | None = None, *,
           out: OutArray) -> OutArray: ...


def decode(source: Source, level: int | None = None, plane: int | Sequence[int] | None = None, *,
           out: OutArray | None = None) -> np.ndarray | OutArray:
    """Decode ``level`` (default: the highest complete one) of a ``.roi`` file, or of one plane of a stack; into
    ``out`` if given (see :meth:`RoiFile.decode`)."""
    with RoiFile(source) as f:
        return f.decode(level, plane) if out is None else f.decode(level, plane, out=out)

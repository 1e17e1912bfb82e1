"""What the codec takes in: images and masks as planes read a block at a time, and the files they come from.

Each input means what it looks like: ``(Y, X, 1)`` is a gray image, a shape whose last axis could be channels is
refused unless ``axes`` says, a phone photo is turned upright by its EXIF orientation, a multi-page TIFF is a stack
(never its first page alone), an animation is refused rather than cut to its first frame, a ``.npy`` array stays on
disk, and images of more than 8 bits go through a stated intensity window.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
from PIL import Image, ImageOps

from roicodec import container, heap
from roicodec import mask as roimask
from roicodec.errors import RoiError, UnsupportedImageError


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


ImageLike = np.ndarray | Image.Image | ArrayLike
"""What :func:`roicodec.encode` takes as an image or a mask."""


def shape_text(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape))


Window = tuple[float, float]
"""``(low, high)``: the intensities that map to 0 and 255 when an image of more than 8 bits is coded."""

WINDOW_PERCENTILES = (0.1, 99.9)
"""What ``window="auto"`` takes as ``(low, high)``: these percentiles of the image's intensities."""

_WINDOW_SAMPLES = 1 << 22
"""About how many pixels ``window="auto"`` reads to find its percentiles (a strided subset of a large image)."""

_SPATIAL = frozenset("YXS")


class Plane:
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
        heap.trim()
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
    text = shape_text(shape)
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


class Planes:
    """The image as planes, checked up front (mode, depth, size, axes) but read later, block by block."""

    def __init__(self, image: ImageLike, rgb: bool | None, axes: str | None = None,
                 window: Window | str | None = None) -> None:
        if _is_pil(image):
            image = _pil_array(image)
        elif not isinstance(image, ArrayLike):
            image = np.asarray(image)
        shape = tuple(image.shape)
        text = shape_text(shape)
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

    def plane(self, index: int) -> Plane:
        prefix = tuple(int(i) for i in np.unravel_index(index, self.lead)) if self.lead else ()
        return Plane(self._source, prefix, (self.height, self.width, self.channels), self._channel_axis,
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


def _is_pil(image: object) -> bool:
    return isinstance(image, Image.Image)


class Masks:
    """The ROI: one mask for every plane, or one per plane, read a band of rows or a tile at a time."""

    def __init__(self, mask: ImageLike | None, planes: Planes) -> None:
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
            per_plane = f" or {shape_text((*lead, h, w))}" if lead else ""
            raise RoiError(f"mask is {shape_text(shape[::-1][:2])} but the image is {w}x{h}: "
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


def source_files(*sources: object) -> list[str]:
    """The files on disk that ``sources`` (PIL images, memory maps) read from: an output there would destroy them."""
    files = []
    for source in sources:
        name = getattr(source, "filename", None)
        if isinstance(name, (str, os.PathLike)) and name:
            files.append(os.fspath(name))
    return files


_TIFF = (".tif", ".tiff")

# Pillow formats whose extra frames are not more of the image: an MPO (what many cameras and phones write as .jpg)
# holds the primary image first, then previews or other views.
_SINGLE_IMAGE_FORMATS = frozenset({"MPO"})

_ORIENTATIONS = {
    # EXIF orientation tag -> how to turn the (Y, X) axes upright, as Pillow's ImageOps.exif_transpose does.
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: a.swapaxes(0, 1)[:, ::-1],
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],
    8: lambda a: a.swapaxes(0, 1)[::-1],
}


@dataclass(frozen=True)
class Picture:
    """Pixels read from a file, and what their axes are when the shape alone would not say."""

    pixels: Image.Image | np.ndarray
    axes: str | None = None
    """One letter per axis (tifffile's: ``Z``, ``T``, ``C``, ``Y``, ``X``, ``S`` for samples); ``None`` for a plain
    gray or RGB image."""


def read(path: str | os.PathLike[str], *, axes: str | None = None) -> Picture:
    """Read an image or mask file: ``.npy`` (memory-mapped), TIFF (through tifffile, every page), or anything Pillow
    reads (EXIF orientation applied). ``axes`` overrides what the file says its axes are."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            return Picture(np.load(path, mmap_mode="r"), axes)
        except ValueError as exc:  # np.load says ValueError for a damaged header or an object array
            raise RoiError(f"{path.name} is not a readable .npy array ({exc})") from None
    if suffix in _TIFF:
        picture = _read_tiff(path)
        return Picture(picture.pixels, axes or picture.axes)
    return Picture(_read_pillow(path), axes)


def _read_pillow(path: Path) -> Image.Image:
    im = Image.open(path)
    try:
        frames = getattr(im, "n_frames", 1)
        if frames > 1 and im.format not in _SINGLE_IMAGE_FORMATS:
            raise UnsupportedImageError(
                f"{path.name} holds {frames} frames ({im.format}), and roicodec would code only the first: save the "
                "frames as a multi-page TIFF or a .npy stack (each frame a plane), or save the one frame you want")
        im.load()
        upright = ImageOps.exif_transpose(im)
    except BaseException:
        im.close()
        raise
    if upright is not im:
        im.close()
    return upright


def _read_tiff(path: Path) -> Picture:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series
            if len(series) != 1:
                raise UnsupportedImageError(
                    f"{path.name} holds {len(series)} image series and roicodec codes one: save each as its own file")
            pixels, axes = series[0].asarray(), series[0].axes
            orientation = tif.pages.first.tags.valueof(274, 1)
    except (tifffile.TiffFileError, ValueError) as exc:
        raise RoiError(f"{path.name} is not a readable TIFF ({exc})") from None
    if "S" in axes and axes[-1] != "S":  # planar samples (one page per colour): the codec takes them last
        pixels, axes = np.moveaxis(pixels, axes.index("S"), -1), axes.replace("S", "") + "S"
    if axes.endswith("S") and pixels.shape[-1] == 1:
        pixels, axes = pixels[..., 0], axes[:-1]
    if axes.endswith("S") and pixels.shape[-1] in (2, 4):
        raise UnsupportedImageError(f"{path.name} has an alpha channel, which roicodec does not code: save it "
                                    "without alpha (gray or RGB)")
    if orientation in _ORIENTATIONS:
        spatial = pixels.ndim - (3 if axes.endswith("S") else 2)
        moved = np.moveaxis(pixels, (spatial, spatial + 1), (0, 1))
        pixels = np.ascontiguousarray(np.moveaxis(_ORIENTATIONS[orientation](moved), (0, 1), (spatial, spatial + 1)))
    plain = axes in ("YX", "YXS")  # the shape says it all: nothing to record
    return Picture(pixels, None if plain else axes)

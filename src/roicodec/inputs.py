"""What the codec takes in: images and masks as planes read a block at a time, and the files they come from.

Each input means what it looks like: ``(Y, X, 1)`` is a gray image, a shape whose last axis could be channels is
refused unless ``axes`` says, a phone photo is turned upright by its EXIF orientation, a multi-page TIFF is a stack
(never its first page alone), an animation is refused rather than cut to its first frame, a ``.npy`` array stays on
disk, and uint16 images keep their own units (their base layer sees them through a stored intensity mapping), or
go through a stated 8-bit window.
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

from roicodec import container, heap, intensity
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

Mappings = str | intensity.Mapping | Sequence[intensity.Mapping]
"""What :func:`roicodec.encode` takes as ``mapping``: a curve name (``"sqrt"``, ``"linear"``; the window from each
channel's percentiles), one :class:`~roicodec.intensity.Mapping` for every channel, or one per channel."""


class Plane:
    """One plane of the image, described and sliced as an ``(Y, X, C)`` array in the image's own dtype (uint8, or
    uint16 for a 16-bit image: what the enhancement layers code); :meth:`base_view` is what the base model takes.
    Each slice is read from the source when asked for, so the plane never has to be whole in memory."""

    def __init__(self, source: ArrayLike, key: Callable[[slice, slice], tuple[Any, ...]], shape: tuple[int, int, int],
                 samples: bool, window: Window | None, dtype: np.dtype, mapping: intensity.Mapping | None = None,
                 to_base: bool = False) -> None:
        self._source, self._key, self._samples, self._window = source, key, samples, window
        self.mapping, self._to_base = mapping, to_base
        self.shape = shape
        self.dtype = np.dtype(np.uint8) if to_base else dtype
        self.ndim = 3

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        # Every read starts a tile (the model's analysis, then the layers, read each tile once), and by then the last
        # tile's temporaries are free: give them back first, so that tiles do not pile up in the heap.
        heap.trim()
        block = np.asarray(self._source[self._key(*key)])
        if self._window is not None:
            block = _apply_window(block, self._window)
        elif self.mapping is not None:
            block = block.astype(np.uint16, copy=False)
            if self._to_base:
                block = self.mapping.forward(block)
        return block if self._samples else block[..., None]

    def base_view(self) -> Plane:
        """The plane as the base model sees it: 8 bits, through the plane's intensity mapping if it has one."""
        if self.mapping is None:
            return self
        return Plane(self._source, self._key, self.shape, self._samples, None, self.dtype, self.mapping, True)


def _apply_window(block: np.ndarray, window: Window) -> np.ndarray:
    low, high = window
    scaled = (block.astype(np.float64) - low) * (255 / (high - low))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class _Layout:
    """Where a plane's axes are in the source: the leading (plane) axes, Y, X, and a samples axis last, if any."""

    lead: tuple[int, ...]
    """Source positions of the leading axes, in the file's order."""
    y: int
    samples: bool
    letters: str | None
    """The file's axes (its leading axes, then ``YX``, then ``S`` for RGB), when the caller named them."""

    def key(self, index: tuple[int, ...], ndim: int) -> Callable[[slice, slice], tuple[Any, ...]]:
        base: list[Any] = [slice(None)] * ndim
        for position, i in zip(self.lead, index):
            base[position] = i

        def key(ys: slice, xs: slice) -> tuple[Any, ...]:
            out = list(base)
            out[self.y], out[self.y + 1] = ys, xs
            return tuple(out)

        return key


def _parse_axes(axes: str, shape: tuple[int, ...]) -> tuple[bool, _Layout]:
    """Check ``axes`` against ``shape``: whether the image is RGB (its last axis ``S`` of 3), and its layout."""
    text = shape_text(shape)
    if not isinstance(axes, str) or len(axes) != len(shape) or len(set(axes)) != len(axes) or not axes.isalpha() \
            or not axes.isupper():
        raise UnsupportedImageError(f"axes {axes!r} do not fit an image of shape {text}: give one distinct capital "
                                    f"letter per axis ({len(shape)}), e.g. 'ZYX', 'CZYX' or 'TZYXS'")
    trailing = axes[-1] if axes[-1] in "SC" and axes[-3:-1] == "YX" else ""
    if not (axes.endswith("YX") or trailing):
        raise UnsupportedImageError(f"axes {axes!r} must end with 'YX' (gray), 'YXS' (RGB samples) or 'YXC' "
                                    "(channels), e.g. 'ZYX' or 'CZYX'")
    if trailing == "S" and shape[-1] not in (1, 3):
        raise UnsupportedImageError(f"axes {axes!r} put {shape[-1]} samples on the last axis: roicodec codes 3 (RGB) "
                                    "or 1 (gray); name other channels 'C', e.g. 'YXC' or 'CYX'")
    lead = axes[:-3] if trailing else axes[:-2]
    if _SPATIAL & set(lead):
        raise UnsupportedImageError(f"axes {axes!r}: Y, X and S may appear only at the end")
    y = len(lead)
    positions = tuple(range(len(lead))) + ((len(axes) - 1,) if trailing == "C" else ())
    letters = lead + ("C" if trailing == "C" else "") + "YX" + ("S" if trailing == "S" and shape[-1] == 3 else "")
    return trailing == "S" and shape[-1] == 3, _Layout(positions, y, trailing == "S", letters)


_SPATIAL = frozenset("YXS")


class Planes:
    """The image as planes, checked up front (mode, depth, size, axes) but read later, block by block.

    A uint16 image is coded in its own units (16-bit samples: format 1.2), its base through an intensity mapping per
    channel (:mod:`roicodec.intensity`); ``window`` instead codes any deeper image as an 8-bit view of it.
    """

    def __init__(self, image: ImageLike, rgb: bool | None, axes: str | None = None,
                 window: Window | str | None = None, mapping: Mappings | None = None) -> None:
        if _is_pil(image):
            image = _pil_array(image, window is None)
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
        layout: _Layout | None = None
        samples = False  # whether the source has a samples axis of its own (RGB, or gray as (..., Y, X, 1))
        if axes is not None:
            is_rgb, layout = _parse_axes(axes, shape)
            if rgb is not None and rgb != is_rgb:
                raise UnsupportedImageError(f"rgb={rgb} contradicts axes {axes!r}: give one of them")
            rgb, samples = is_rgb, layout.samples
        elif rgb is None:
            if len(shape) >= 3 and shape[-1] == 4:
                raise UnsupportedImageError(f"image of shape {text} looks like RGBA: drop the alpha channel (keep the "
                                            "first 3 channels), or pass axes (e.g. axes='ZYX') if it is a gray stack")
            if len(shape) >= 3 and shape[-1] == 1:
                rgb, samples = False, True  # (..., Y, X, 1): one gray channel, as Pillow and tifffile write it
            elif len(shape) >= 3 and shape[-1] != 3 and shape[-1] <= _MAX_CHANNELS:
                raise UnsupportedImageError(
                    f"image of shape {text} is ambiguous: its last axis of {shape[-1]} looks like channels; pass "
                    "axes='YXC' (or 'ZYXC', ...) to code each channel as a plane, or axes='ZYX' (or 'TZYX', ...) to "
                    f"code it as a stack of {shape[-3] if len(shape) >= 3 else 1} planes")
            else:
                rgb = len(shape) >= 3 and shape[-1] == 3
        if rgb and (len(shape) < 3 or shape[-1] != 3):
            raise UnsupportedImageError(f"image of shape {text} is not RGB: its last axis must have 3 channels")
        samples = samples or bool(rgb)
        if layout is None:
            lead_count = len(shape) - (3 if samples else 2)
            layout = _Layout(tuple(range(max(lead_count, 0))), max(lead_count, 0), samples, None)
        if len(shape) < 2 + samples or len(layout.lead) > container.MAX_LEAD_AXES:
            raise UnsupportedImageError(f"image of shape {text} is not supported: pass (..., Y, X) gray or "
                                        f"(..., Y, X, 3) RGB with at most {container.MAX_LEAD_AXES} leading axes")
        h, w = shape[layout.y], shape[layout.y + 1]
        if min(h, w) == 0 or max(h, w) > container.MAX_SIDE:
            raise UnsupportedImageError(f"image of {w}x{h} pixels is not supported: "
                                        f"each side must be 1 to {container.MAX_SIDE} pixels")
        self.lead: tuple[int, ...] = tuple(shape[i] for i in layout.lead)
        self.count = math.prod(self.lead)
        if not 0 < self.count <= container.MAX_PLANES:
            raise UnsupportedImageError(f"a stack of {self.count} planes is not supported: 1 to {container.MAX_PLANES}")
        self.height, self.width, self.channels = h, w, 3 if rgb else 1
        self.axes = layout.letters
        """The file's axes when the caller named them (leading axes in the file's order, then ``YX``, ``S``)."""
        self._layout, self._source, self._ndim = layout, image, len(shape)
        self.window = _window(image, dtype, window)
        self.bits = 16 if self.window is None and dtype == np.uint16 else 8
        self.dtype = np.dtype(np.uint16 if self.bits == 16 else np.uint8)
        self.channel_axis: int | None = None
        """Which leading axis is ``C``, whose index chooses a 16-bit plane's mapping (``None``: one mapping)."""
        self.mappings: tuple[intensity.Mapping, ...] = ()
        if self.bits == 16:
            if rgb:
                raise UnsupportedImageError(f"16-bit RGB (shape {text}) is coded one channel a plane: pass axes='YXC' "
                                            "(or 'ZYXC', ...; CLI: --axes YXC), or window=... for an 8-bit RGB view "
                                            "(CLI: --window auto)")
            if self.axes is not None and "C" in self.axes[:len(self.lead)]:
                self.channel_axis = self.axes.index("C")
            self.mappings = self._mappings(mapping)
        elif mapping is not None:
            raise UnsupportedImageError("mapping is for 16-bit images (their base layer's 8-bit view); this image is "
                                        f"coded as {dtype} {'through its window' if self.window else 'as it is'}")

    def _mappings(self, mapping: Mappings | None) -> tuple[intensity.Mapping, ...]:
        count = 1 if self.channel_axis is None else self.lead[self.channel_axis]
        if count > container.MAX_CHANNELS:
            raise UnsupportedImageError(f"{count} channels are more than a 16-bit file maps one by one "
                                        f"({container.MAX_CHANNELS}): code them in several files")
        if mapping is None or isinstance(mapping, str):
            curve = intensity.DEFAULT_CURVE if mapping is None else mapping
            if curve not in intensity.CURVES:
                raise UnsupportedImageError(f"mapping {mapping!r} is unknown: give {' or '.join(intensity.CURVES)}, or "
                                            "roicodec.intensity.Mapping(low, high, curve) per channel")
            return tuple(intensity.auto(self._sample(c), curve) for c in range(count))
        given = (mapping,) if isinstance(mapping, intensity.Mapping) else tuple(mapping)
        if len(given) == 1:
            given *= count
        if len(given) != count or not all(isinstance(m, intensity.Mapping) for m in given):
            raise UnsupportedImageError(f"mapping gives {len(given)} intensity mappings for {count} channel(s): give "
                                        "one Mapping, or one per channel")
        return given

    def _sample(self, channel: int) -> np.ndarray:
        """A strided subset of one channel's pixels (of every plane), for its automatic window."""
        per_channel = self.count * self.height * self.width // (1 if self.channel_axis is None else
                                                                 self.lead[self.channel_axis])
        step = max(1, math.isqrt(per_channel // _WINDOW_SAMPLES))
        key: list[Any] = [slice(None)] * self._ndim
        key[self._layout.y] = key[self._layout.y + 1] = slice(None, None, step)
        if self.channel_axis is not None:
            key[self._layout.lead[self.channel_axis]] = channel
        return np.asarray(self._source[tuple(key)]).ravel()

    def plane(self, index: int) -> Plane:
        prefix = tuple(int(i) for i in np.unravel_index(index, self.lead)) if self.lead else ()
        mapping = None
        if self.mappings:
            mapping = self.mappings[0 if self.channel_axis is None else prefix[self.channel_axis]]
        return Plane(self._source, self._layout.key(prefix, self._ndim), (self.height, self.width, self.channels),
                     self._layout.samples, self.window, self.dtype, mapping)


_MAX_CHANNELS = 16
"""A last axis this short (and not 3) reads as channels, not as a stack's X: refused unless ``axes`` says which."""


def _window(image: ArrayLike, dtype: np.dtype, window: Window | str | None) -> Window | None:
    """The intensity window that maps ``image`` to 8 bits: ``None`` for uint8 and uint16 data without one (coded in
    their own units)."""
    if window is None:
        if dtype in (np.uint8, np.uint16):
            return None
        depth = (f"{dtype.itemsize * 8}-bit {'signed' if dtype.kind == 'i' else 'unsigned'} integers" if dtype.kind in "ui"
                 else "floating-point")
        raise UnsupportedImageError(
            f"images of dtype {dtype} ({depth}) are not coded in their own units (roicodec codes uint8 and uint16): "
            "convert to uint16 if the values fit (image.astype(np.uint16)), or code an 8-bit view through a window: "
            f"window='auto' (CLI: --window auto; the {WINDOW_PERCENTILES[0]}th to {WINDOW_PERCENTILES[1]}th "
            "percentiles) or window=(LOW, HIGH) (CLI: --window LOW,HIGH)")
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


def _pil_array(image: Image.Image, native: bool = True) -> np.ndarray:
    """A PIL image's pixels as the array the codec takes: modes 1 and P become L and RGB; 16-bit gray is uint16
    (coded in its own units), and so is 32-bit gray (mode I) whose values fit, unless a window is to map it
    (``native`` false); alpha is refused."""
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
    pixels = np.asarray(image)
    if native and mode.startswith("I;16"):
        return pixels.astype(np.uint16, copy=False)
    if native and mode == "I" and pixels.size and 0 <= int(pixels.min()) and int(pixels.max()) <= intensity.MAX_VALUE:
        return pixels.astype(np.uint16)  # Pillow opens some 16-bit files as 32-bit gray
    return pixels


def roi_pixels(image: ImageLike) -> np.ndarray:
    """The pixels a segmenter or a threshold sees, at their own depth (a 16-bit micrograph stays 16-bit): the one
    conversion the command line and batch jobs make before an automatic ROI."""
    if _is_pil(image) and image.mode in ("1", "P"):
        image = image.convert("L" if image.mode == "1" else "RGB")
    return np.ascontiguousarray(image)


def _is_pil(image: object) -> bool:
    return isinstance(image, Image.Image)


class Masks:
    """The ROI: one mask for every plane, or one per plane, read a band of rows or a tile at a time.

    An image with a channel axis may take one mask per plane of its other axes (a ``(Z, Y, X)`` mask for a ``(C, Z,
    Y, X)`` image): every channel of a plane then shares its mask, which the file stores for each plane."""

    def __init__(self, mask: ImageLike | None, planes: Planes) -> None:
        lead, h, w = planes.lead, planes.height, planes.width
        self.count = 1
        self._source: ArrayLike | None = None
        self._lead: tuple[int, ...] = ()
        self._samples = 0
        self._channel_axis: int | None = None
        if mask is None:
            self.extents = [roimask.Extent((slice(0, h), slice(0, w)), True)]
            return
        picture = _is_pil(mask)
        if picture:
            mask = _pil_mask(mask)
        elif not isinstance(mask, ArrayLike):
            mask = np.asarray(mask)
        shape = tuple(mask.shape)
        shared = lead if planes.channel_axis is None else tuple(
            n for i, n in enumerate(lead) if i != planes.channel_axis)
        if len(shape) in {3, len(lead) + 3, len(shared) + 3} and shape[-1] in (1, 2, 3, 4) and shape[-3:-1] == (h, w):
            # A picture of a mask, gray or colour, maybe with alpha (2 = LA, 4 = RGBA) as image editors save it.
            self._samples, shape = shape[-1], shape[:-1]
        allowed = [(h, w), (*lead, h, w)] + ([(*shared, h, w)] if shared != lead else [])
        if shape not in allowed:
            per_plane = "".join(f" or {shape_text(a)}" for a in allowed[1:]) if lead else ""
            # A picture's samples are not its size: a 7x5 RGB mask is (5, 7, 3), and is 7x5.
            size = shape[-3:-1] if len(shape) == 3 and shape[-1] in (1, 2, 3, 4) and picture else shape[-2:]
            raise RoiError(f"mask is {size[-1]}x{size[0]} but the image is {w}x{h}: "
                           f"pass a mask of shape {h}x{w}{per_plane}")
        self._source = mask
        if len(shape) > 2:
            self._lead = lead
            if shape[:-2] != lead or planes.channel_axis is not None and shape != (*lead, h, w):
                self._channel_axis = planes.channel_axis  # one mask for every channel of a plane
            self.count = math.prod(lead)
        # One pass over each mask before anything is coded: an empty ROI is refused before any output exists, and
        # the box and whether the ROI fills it are known when the mask's chunk is written.
        scanned: dict[tuple[int, ...], roimask.Extent] = {}
        self.extents = []
        for m in range(self.count):
            at = self._at(m)
            if at not in scanned:
                scanned[at] = roimask.scan(self.region(m), h, w)
            self.extents.append(scanned[at])
        if all(e.box is None for e in self.extents):
            raise RoiError("mask selects no pixel: mark the ROI with non-zero values, or pass no mask for the whole image")

    def _at(self, index: int) -> tuple[int, ...]:
        """Where plane ``index``'s mask is in the mask's own leading axes."""
        if self.count == 1:
            return ()
        prefix = tuple(int(i) for i in np.unravel_index(index, self._lead))
        if self._channel_axis is not None:
            prefix = prefix[:self._channel_axis] + prefix[self._channel_axis + 1:]
        return prefix

    def region(self, index: int) -> roimask.Region:
        """Reads mask ``index`` over rows ``ys`` and columns ``xs``, as booleans."""
        prefix = self._at(index)
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

    def pack_into(self, index: int, write: Callable[[bytes], object], deep: bool = False) -> None:
        roimask.pack_into(self.region(index), self.extents[index], write, deep)


def _pil_mask(mask: Image.Image) -> np.ndarray:
    """A mask drawn as a picture: its gray or colour values mark the ROI, its alpha (if any) only removes pixels."""
    if mask.mode == "P":
        mask = mask.convert("RGBA" if "transparency" in mask.info else "RGB")
    elif mask.mode == "PA":
        mask = mask.convert("RGBA")
    return np.asarray(mask)


def icc_profile(image: object) -> bytes:
    """The ICC profile a PIL image carries (``info["icc_profile"]``, as Pillow's readers set it); empty for none."""
    return _profile(image.info.get("icc_profile")) if isinstance(image, Image.Image) else b""


def _profile(data: object) -> bytes:
    """``data`` if it is an ICC profile, else empty. One that a file carries but that is not a profile (some writers
    damage them) means nothing to any reader: it is left out, as every profile was before files kept them, rather
    than refuse the image."""
    if not isinstance(data, bytes) or not data:
        return b""
    try:
        container.check_icc(data)
    except ValueError:
        return b""
    return data


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
    metadata: dict[str, Any] | None = None
    """What an OME-TIFF says of the image, as a ``.roi`` description: ``channels`` (names), and ``scale`` and
    ``units`` per axis (OME's ``PhysicalSize*`` and their units), in the file's order of axes."""
    icc_profile: bytes = b""
    """The file's ICC profile (what its pixel values mean), empty for none."""


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
        return Picture(picture.pixels, axes or picture.axes, picture.metadata if axes is None else None,
                       picture.icc_profile)
    pixels, icc = _read_pillow(path)
    return Picture(pixels, axes, icc_profile=icc)


def _read_pillow(path: Path) -> tuple[Image.Image | np.ndarray, bytes]:
    """The image, at its own depth and upright, and its ICC profile."""
    im = Image.open(path)
    try:
        frames = getattr(im, "n_frames", 1)
        if frames > 1 and im.format not in _SINGLE_IMAGE_FORMATS:
            raise UnsupportedImageError(
                f"{path.name} holds {frames} frames ({im.format}), and roicodec would code only the first: save the "
                "frames as a multi-page TIFF or a .npy stack (each frame a plane), or save the one frame you want")
        deep = _full_depth(path, im)
        if deep is not None:
            orientation = im.getexif().get(_EXIF_ORIENTATION, 1)
            icc = icc_profile(im)
            im.close()
            return _upright(deep, orientation, 0), icc
        im.load()
        upright = ImageOps.exif_transpose(im)
    except BaseException:
        im.close()
        raise
    if upright is not im:
        im.close()
    return upright, icc_profile(upright)


_EXIF_ORIENTATION = 0x0112
_NARROWED_MODES = frozenset({"RGB", "RGBA", "LA", "L"})
"""The 8-bit modes Pillow hands deeper colour samples over in: a 16-bit RGB PNG opens as ``RGB``, 8 bits a channel."""
_FULL_DEPTH_DECODERS = {"PNG": "png_decode", "JPEG2000": "jpeg2k_decode", "AVIF": "avif_decode"}
"""imagecodecs' decoders for the formats whose deeper samples Pillow narrows: each keeps the file's own depth."""


def _full_depth(path: Path, im: Image.Image) -> np.ndarray | None:
    """The file's own samples where it holds more than 8 bits of colour and Pillow would hand over only the top 8
    (16-bit RGB PNG and PPM, JPEG 2000 of 12 or 16 bits, 10- or 12-bit AVIF): coded from Pillow's pixels, such a file's
    "exact" top level would be exact to a copy with its low bits gone. ``None`` where Pillow's pixels are the file's."""
    if im.mode not in _NARROWED_MODES:
        return None  # 16-bit gray opens as I;16 or I, at its own depth
    args = [tile[3] for tile in im.tile]
    # PNG and SGI name 16-bit samples in the tile's raw mode ("RGB;16B"); PPM gives its maximum value.
    named = any(isinstance(a, str) and ";16" in a for a in args) or (
        im.format == "PPM" and any(isinstance(a, tuple) and len(a) == 2 and a[1] > 255 for a in args))
    decoder = _FULL_DEPTH_DECODERS.get(im.format or "")
    # Pillow tells nothing of a JPEG 2000's or an AVIF's depth: their samples are read again at their own.
    if decoder is not None and (named or im.format != "PNG"):
        import imagecodecs

        try:
            pixels = getattr(imagecodecs, decoder)(path.read_bytes())
        except Exception:  # noqa: BLE001 - a file imagecodecs cannot read but Pillow can: Pillow's pixels, as before
            pixels = None
        if pixels is not None and pixels.dtype != np.uint8:
            if pixels.ndim == 3:
                _refuse_alpha(path, pixels)
            return pixels
        if not named:
            return None
    if named:
        raise UnsupportedImageError(
            f"{path.name} holds more than 8 bits a sample ({im.format}), which Pillow reads as 8, so the exact level "
            "would be exact to the top 8 bits only: save it as a 16-bit TIFF (or PNG) and code that")
    return None


def _read_tiff(path: Path) -> Picture:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            series = tif.series
            if len(series) != 1:
                raise UnsupportedImageError(
                    f"{path.name} holds {len(series)} image series and roicodec codes one: save each as its own file")
            pixels, axes = series[0].asarray(), series[0].axes
            first = tif.pages.first
            if int(first.photometric) == _SEPARATED:
                raise UnsupportedImageError(f"{path.name} is CMYK, which roicodec does not code: save it as RGB (or "
                                            "gray)")
            pixels, axes = _as_shown(pixels, axes, int(first.photometric), first.colormap, first.bitspersample)
            orientation = first.tags.valueof(274, 1)
            icc = _profile(first.tags.valueof(34675))  # InterColorProfile
            ome = tif.ome_metadata
    except RoiError:
        raise  # a refusal of what the file holds, already one line (UnsupportedImageError is a ValueError too)
    except (tifffile.TiffFileError, ValueError) as exc:
        raise RoiError(f"{path.name} is not a readable TIFF ({exc})") from None
    if "S" in axes and axes[-1] != "S":  # planar samples (one page per colour): the codec takes them last
        pixels, axes = np.moveaxis(pixels, axes.index("S"), -1), axes.replace("S", "") + "S"
    if axes.endswith("S") and pixels.shape[-1] == 1:
        pixels, axes = pixels[..., 0], axes[:-1]
    if axes.endswith("S"):
        _refuse_alpha(path, pixels)
    pixels = _upright(pixels, orientation, pixels.ndim - (3 if axes.endswith("S") else 2))
    plain = axes in ("YX", "YXS")  # the shape says it all: nothing to record
    return Picture(pixels, None if plain else axes, _ome_description(ome, axes) if ome else None, icc)


def _refuse_alpha(path: Path, pixels: np.ndarray) -> None:
    """Refuse samples (last axis) that carry alpha: gray and alpha, or RGB and alpha."""
    if pixels.shape[-1] in (2, 4):
        raise UnsupportedImageError(f"{path.name} has an alpha channel, which roicodec does not code: save it "
                                    "without alpha (gray or RGB)")


def _upright(pixels: np.ndarray, orientation: int, spatial: int) -> np.ndarray:
    """``pixels`` turned upright by an EXIF/TIFF ``orientation``, its rows at axis ``spatial`` and its columns next."""
    if orientation not in _ORIENTATIONS:
        return pixels
    moved = np.moveaxis(pixels, (spatial, spatial + 1), (0, 1))
    return np.ascontiguousarray(np.moveaxis(_ORIENTATIONS[orientation](moved), (0, 1), (spatial, spatial + 1)))


_MINISWHITE, _PALETTE, _SEPARATED = 0, 3, 5
"""TIFF's photometric interpretations whose stored values are not what they show: 0 is white, indices, inks (CMYK:
four samples that are not RGB and alpha)."""


def _as_shown(pixels: np.ndarray, axes: str, photometric: int, colormap: np.ndarray | None,
              bits: int) -> tuple[np.ndarray, str]:
    """A TIFF's samples as the picture they show, as Pillow reads the same file: a palette image's colours (coded
    from its indices, a gray image of numbers would come back), a white-is-zero image turned to black-is-zero (every
    writer of the decoded image assumes it), bilevel as 0 and 255."""
    if photometric == _PALETTE and colormap is not None and pixels.dtype.kind == "u" and colormap.ndim == 2:
        colours = np.asarray(colormap)
        # TIFF's colour maps are 16-bit: 8-bit colours are stored times 257 (libtiff) or 256 (Pillow), and come back
        # as they were; any other map is 16-bit colour.
        for step in (257, 256):
            if not np.any(colours % step):
                colours = (colours // step).astype(np.uint8)
                break
        return np.moveaxis(colours[:, pixels], 0, -1), axes + "S"
    if pixels.dtype == bool:
        pixels = pixels.astype(np.uint8) * np.uint8(255)
        return (np.uint8(255) - pixels if photometric == _MINISWHITE else pixels), axes
    if photometric == _MINISWHITE and pixels.dtype.kind == "u":
        return np.asarray((1 << bits) - 1 - pixels.astype(np.int64), pixels.dtype), axes
    return pixels, axes


_OME_SIZES = {"X": "PhysicalSizeX", "Y": "PhysicalSizeY", "Z": "PhysicalSizeZ", "T": "TimeIncrement"}


def _ome_description(xml: str, axes: str) -> dict[str, Any] | None:
    """Channel names and physical sizes of an OME-XML's first image, per axis of the file as the codec keeps it
    (a ``C`` after ``YX`` moves before them); ``None`` if it holds none of them."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return None
    pixels = next((e for e in root.iter() if e.tag.endswith("}Pixels") or e.tag == "Pixels"), None)
    if pixels is None:
        return None
    order = axes[:-3] + "C" + "YX" if axes.endswith("YXC") else axes.removesuffix("S")
    out: dict[str, Any] = {}
    names = [c.get("Name") for c in pixels if c.tag.endswith("Channel")]
    if "C" in order and names and all(names):
        out["channels"] = names
    scale, units = [], []
    for a in order:
        size = pixels.get(_OME_SIZES.get(a, ""))
        try:
            value = float(size) if size is not None else 1.0
        except ValueError:
            value = 1.0
        scale.append(value if math.isfinite(value) and value > 0 else 1.0)
        default = "s" if a == "T" else "µm"  # OME's defaults
        units.append(pixels.get(f"{_OME_SIZES[a]}Unit", default) if size is not None else "pixel")
    if any(u != "pixel" for u in units):
        out["scale"], out["units"] = scale, units
    return out or None

"""Images and masks from files, as the command line and batch encoding read them.

Each file means what it looks like: a phone photo is turned upright by its EXIF orientation, a multi-page TIFF is a
stack (never its first page alone), an animation is refused rather than cut to its first frame, and a ``.npy``
array stays on disk, read a tile at a time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from roicodec.errors import RoiError, UnsupportedImageError

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

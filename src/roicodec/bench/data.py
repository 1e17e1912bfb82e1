"""What the benchmark codes: a folder of images, each at full size and as centre crops, each with its ROI.

Images are coded as 8-bit RGB (gray and palette images are converted), the mode every codec in the sweep supports
alike. The ROI comes from a folder of masks, from the segmenter when it is installed, or from a documented fallback:
the central rectangle of half the width and half the height, as tests/test_kodak.py uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".ppm", ".webp")
FULL = "full"
ROI_SOURCES = ("centre", "masks", "auto")

RoiFunction = Callable[[Path, np.ndarray], np.ndarray]
"""Finds the ROI (HxW bool) of the image read from a path."""


@dataclass(frozen=True)
class Item:
    """One image at one size, with its ROI: the unit the sweep codes."""

    size: str
    name: str
    rgb: np.ndarray
    mask: np.ndarray


def image_paths(folder: Path) -> list[Path]:
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise FileNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return paths


def parse_size(text: str) -> tuple[int, int] | None:
    """``"full"`` -> ``None``; ``"192x256"`` -> ``(192, 256)``, height first as the paper writes it."""
    if text == FULL:
        return None
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"size {text!r} is not 'full' or HEIGHTxWIDTH, e.g. 192x256") from None
    if h <= 0 or w <= 0:
        raise ValueError(f"size {text!r} must be positive")
    return h, w


def centre_crop(array: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``shape`` (height, width) from the centre, whatever the image's orientation, so every crop has one shape.

    Portrait images are cropped the same way, not rotated: a crop of a portrait photo is still a window of it.
    """
    h, w = array.shape[:2]
    if h < shape[0] or w < shape[1]:
        raise ValueError(f"image of {w}x{h} is smaller than the {shape[1]}x{shape[0]} crop")
    top, left = (h - shape[0]) // 2, (w - shape[1]) // 2
    return array[top:top + shape[0], left:left + shape[1]]


def centre_roi(_path: Path, rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    mask = np.zeros((h, w), bool)
    mask[h // 4:3 * h // 4, w // 4:3 * w // 4] = True
    return mask


def masks_from(folder: Path) -> RoiFunction:
    """ROI from ``folder/<image stem>.png`` at the image's full size, non-zero = ROI."""
    def read(path: Path, rgb: np.ndarray) -> np.ndarray:
        file = folder / f"{path.stem}.png"
        if not file.is_file():
            raise FileNotFoundError(f"no mask {file} for {path.name}: give one PNG per image, non-zero = ROI")
        mask = np.asarray(Image.open(file))
        mask = mask.any(axis=2) if mask.ndim == 3 else mask != 0
        if mask.shape != rgb.shape[:2]:
            raise ValueError(f"mask {file.name} is {mask.shape[1]}x{mask.shape[0]}, its image "
                             f"{rgb.shape[1]}x{rgb.shape[0]}")
        return mask
    return read


def segmenter() -> RoiFunction:
    """The CamVid segmenter's ROI (its default object classes: cars, pedestrians, cyclists, signs), named rather than
    chosen per image, so that the benchmark's ROI stays the one its published tables were made with whatever
    ``--roi auto`` picks; it says which extra to install if missing."""
    from roicodec.segment import EMBEDDED, segment_roi

    return lambda _path, rgb: segment_roi(rgb, EMBEDDED)[0]


@dataclass(frozen=True)
class RoiSource:
    name: str
    find: RoiFunction
    full_size: bool
    """True: ``find`` sees the full image and crops take their part of its ROI (mask files are drawn at full size).
    False: ``find`` sees the image as coded, crop or not (the fallback's rectangle, the segmenter's objects)."""


def roi_source(name: str, masks: Path | None = None) -> RoiSource:
    if masks is not None or name == "masks":
        if masks is None:
            raise ValueError("--roi masks needs --masks DIR")
        return RoiSource("masks", masks_from(masks), True)
    if name == "auto":
        return RoiSource("auto", segmenter(), False)
    if name != "centre":
        raise ValueError(f"ROI source {name!r} is not one of {', '.join(ROI_SOURCES)}")
    return RoiSource("centre", centre_roi, False)


def items(paths: list[Path], sizes: list[str], roi: RoiSource) -> Iterator[Item]:
    """Every image at every size, with its ROI."""
    for path in paths:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        full_mask = roi.find(path, rgb) if roi.full_size else None
        for size in sizes:
            shape = parse_size(size)
            coded = rgb if shape is None else np.ascontiguousarray(centre_crop(rgb, shape))
            if full_mask is None:
                mask = roi.find(path, coded)
            else:
                mask = full_mask if shape is None else centre_crop(full_mask, shape)
            if not mask.any():
                raise ValueError(f"the ROI of {path.name} at size {size} holds no pixel: check its mask")
            yield Item(size, path.name, coded, mask)

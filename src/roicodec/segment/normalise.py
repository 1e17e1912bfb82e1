"""What a segmenter's network sees: one function per kind of input, used by training and inference alike.

Photographs go in as they are (8-bit RGB; gray repeated to three channels). Microscopy comes in every depth and
contrast: fluorescence nuclei may fill 2 % of a 12-bit range, brightfield is light with dark nuclei, H&E is colour.
:func:`microscopy_rgb` maps each image to 8-bit RGB by its own percentiles, so a model trained on 8-bit PNGs sees a
16-bit image the same way.
"""

from __future__ import annotations

import numpy as np

from roicodec.errors import UnsupportedImageError

PERCENTILES = (1.0, 99.8)
"""The intensities mapped to 0 and 255: robust to a few hot pixels and to an empty dark background."""
_SAMPLE = 1 << 20
"""Percentiles are taken on at most about this many values (a regular subsample): exact enough, and bounded."""


def planes(image: np.ndarray) -> np.ndarray:
    """``image`` as HxW (gray: one plane, or three equal ones) or HxWx3 (colour); alpha and extra axes refused."""
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] in (1, 2, 4):  # gray, gray + alpha, RGBA: alpha says nothing about the content
        a = a[:, :, 0] if a.shape[2] <= 2 else a[:, :, :3]
    if a.ndim == 3 and a.shape[2] == 3 and np.array_equal(a[..., 0], a[..., 1]) and np.array_equal(a[..., 1], a[..., 2]):
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
        raise UnsupportedImageError(f"segmentation needs an HxW or HxWx3 image, got shape {np.asarray(image).shape}")
    if a.dtype.kind not in "uif" or a.dtype == np.bool_:
        raise UnsupportedImageError(f"segmentation needs integer or float pixels, got {a.dtype}")
    return a


def is_gray(image: np.ndarray) -> bool:
    """One plane, or three equal ones."""
    return planes(image).ndim == 2


def microscopy_rgb(image: np.ndarray) -> np.ndarray:
    """uint8 HxWx3: ``image`` (any integer or float depth, gray or colour) stretched so that its
    :data:`PERCENTILES` become 0 and 255, the same for every channel (colour keeps its balance); gray is repeated."""
    a = planes(image)
    flat = a.reshape(-1)
    sample = flat[:: max(1, flat.size // _SAMPLE)].astype(np.float64)
    low, high = np.percentile(sample, PERCENTILES)
    if high <= low:  # a flat image, or one whose 99.8th percentile is its minimum: nothing to stretch
        high = low + 1.0
    out = np.empty(a.shape, np.uint8)
    np.copyto(out, np.clip((a.astype(np.float32) - np.float32(low)) * np.float32(255.0 / (high - low)) + 0.5, 0, 255),
              casting="unsafe")
    return np.repeat(out[:, :, None], 3, axis=2) if out.ndim == 2 else out

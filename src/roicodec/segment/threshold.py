"""ROI by thresholding, and growing an ROI by a few pixels: the parts of an ROI that need no network.

Both use scikit-image and SciPy (the napari and bench extras bring them); they are imported when called.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from roicodec.errors import RoiError

NEEDS = "pip install scikit-image"


def _skimage_filters() -> Any:
    try:
        from skimage import filters
    except ImportError:
        raise RoiError(f"a threshold ROI needs scikit-image: {NEEDS}") from None
    return filters


def otsu_mask(image: np.ndarray, smoothing: float = 2.0, invert: bool = False) -> np.ndarray:
    """Pixels brighter than Otsu's threshold (darker with ``invert``: dark objects, EM membranes), after a Gaussian
    blur of ``smoothing`` pixels (0: none).

    Blurring first keeps noise and the background's texture out of the ROI; colour images are thresholded on luma;
    any integer or float depth works (a 16-bit image is thresholded in its own units).
    """
    filters = _skimage_filters()
    gray = np.asarray(image).astype(np.float64)
    if gray.ndim == 3:
        gray = gray[..., :3] @ np.array([0.299, 0.587, 0.114])
    if smoothing > 0:
        gray = filters.gaussian(gray, sigma=smoothing, preserve_range=True)
    if gray.min() == gray.max():
        raise RoiError("the image is flat: a threshold finds no ROI in it; pick another ROI source")
    threshold = filters.threshold_otsu(gray)
    return gray <= threshold if invert else gray > threshold


def grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    """``mask`` dilated by a disc of radius ``pixels``, so that the edges of the objects it marks are inside it
    (a segmenter's boundary is a pixel or two off, and a coded edge needs its blur)."""
    if pixels < 0:
        raise RoiError(f"an ROI grows by 0 pixels or more, not {pixels}")
    mask = np.asarray(mask, bool)
    if pixels == 0 or not mask.any() or mask.all():
        return mask
    try:
        from scipy.ndimage import distance_transform_edt
    except ImportError:
        raise RoiError(f"growing an ROI needs SciPy: {NEEDS}") from None
    return distance_transform_edt(~mask) <= pixels

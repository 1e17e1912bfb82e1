"""Where an ROI can come from, as arrays: a labels layer's data, an Otsu threshold, or the semantic segmenter.

The segmenter (``roicodec.segment``, the ``segment`` extra) is optional: it is offered only where it is installed.
"""

from __future__ import annotations

import importlib

import numpy as np

from roicodec.errors import RoiError

SEGMENT_ENTRY = "segment_roi"
"""``roicodec.segment.segment_roi(image) -> (mask, segmentation)``: the one call this plugin makes into it."""


def labels_mask(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """ROI of an ``HxW`` image from labels of that size; labels with more axes count wherever they are non-zero."""
    arr = np.asarray(labels)
    if arr.ndim < 2 or arr.shape[-2:] != shape:
        raise RoiError(f"labels of shape {arr.shape} do not match the image's {shape[0]}x{shape[1]} pixels: "
                       "draw the ROI on a labels layer of the image's size")
    return (arr != 0).reshape(-1, *shape).any(axis=0)


def otsu_mask(image: np.ndarray, smoothing: float = 2.0) -> np.ndarray:
    """Pixels brighter than Otsu's threshold, after a Gaussian blur of ``smoothing`` pixels (0: none).

    Blurring first keeps noise and the background's texture out of the ROI; RGB images are thresholded on luma.
    """
    from skimage.filters import gaussian, threshold_otsu

    gray = image.astype(np.float64)
    if gray.ndim == 3:
        gray = gray @ np.array([0.299, 0.587, 0.114])
    if smoothing > 0:
        gray = gaussian(gray, sigma=smoothing, preserve_range=True)
    if gray.min() == gray.max():
        raise RoiError("the image is flat: a threshold finds no ROI in it; pick another ROI source")
    return gray > threshold_otsu(gray)


def semantic_available() -> bool:
    """Whether ``roicodec.segment`` and its extra are installed and offer :data:`SEGMENT_ENTRY`."""
    try:
        segment = importlib.import_module("roicodec.segment")  # light: it imports nothing of its extra
        return not segment.missing_modules() and callable(getattr(segment, SEGMENT_ENTRY, None))
    except (ImportError, ValueError):  # ValueError: a module in sys.modules without a spec
        return False


def semantic_mask(image: np.ndarray) -> np.ndarray:
    """The segmenter's ROI of ``image`` (call only where :func:`semantic_available` says so)."""
    segment = importlib.import_module("roicodec.segment")
    mask, _ = getattr(segment, SEGMENT_ENTRY)(image)
    mask = np.asarray(mask) != 0
    if mask.shape != image.shape[:2]:
        raise RoiError(f"the segmenter gave a mask of shape {mask.shape} for an image of {image.shape[:2]}")
    return mask

"""Where an ROI can come from, as arrays: a labels layer's data, an Otsu threshold, or a segmenter.

Thresholding and growing are the core's (``roicodec.segment.threshold``, light to import); the segmenters
(``roicodec.segment``, the ``segment`` extra) are optional: they are offered only where they are installed.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from roicodec.errors import RoiError
from roicodec.segment.threshold import grow, otsu_mask

SEGMENT_ENTRY = "segment_roi"
"""``roicodec.segment.segment_roi(image, model, grow=px) -> (mask, segmentation)``: the one call this plugin makes
into it."""
AUTO = "auto"
"""The model name that lets the segmenter choose the model that fits the image."""

__all__ = ["AUTO", "SEGMENT_ENTRY", "grow", "labels_mask", "model_choices", "otsu_mask", "semantic_available",
           "semantic_mask", "semantic_roi"]


def labels_mask(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """ROI of an ``HxW`` image from labels of that size; labels with more axes count wherever they are non-zero."""
    arr = np.asarray(labels)
    if arr.ndim < 2 or arr.shape[-2:] != shape:
        raise RoiError(f"labels of shape {arr.shape} do not match the image's {shape[0]}x{shape[1]} pixels: "
                       "draw the ROI on a labels layer of the image's size")
    return (arr != 0).reshape(-1, *shape).any(axis=0)


def semantic_available() -> bool:
    """Whether ``roicodec.segment`` and its extra are installed and offer :data:`SEGMENT_ENTRY`."""
    try:
        segment = importlib.import_module("roicodec.segment")  # light: it imports nothing of its extra
        return not segment.missing_modules() and callable(getattr(segment, SEGMENT_ENTRY, None))
    except (ImportError, ValueError):  # ValueError: a module in sys.modules without a spec
        return False


def model_choices() -> list[tuple[str, str]]:
    """``(label, name)`` for every segmenter by name, "auto" first; embedded models without weights say so."""
    from roicodec.segment.sources import EMBEDDED_MODELS, installed, model_names

    labels = [("auto (the model that fits the image)", AUTO)]
    for name in model_names():
        note = " (not installed)" if name in EMBEDDED_MODELS and not installed(name) else \
            "" if name in EMBEDDED_MODELS else " (downloaded once)"
        labels.append((f"{name}{note}", name))
    return labels


def semantic_roi(image: np.ndarray, model: str | None = None, pixels: int = 0) -> tuple[np.ndarray, Any]:
    """``(mask, segmentation)`` from the segmenter (call only where :func:`semantic_available` says so)."""
    segment = importlib.import_module("roicodec.segment")
    mask, segmentation = getattr(segment, SEGMENT_ENTRY)(image, model, grow=pixels)
    mask = np.asarray(mask) != 0
    if mask.shape != image.shape[:2]:
        raise RoiError(f"the segmenter gave a mask of shape {mask.shape} for an image of {image.shape[:2]}")
    return mask, segmentation


def semantic_mask(image: np.ndarray, model: str | None = None, pixels: int = 0) -> np.ndarray:
    """The segmenter's ROI of ``image`` (the model that fits it, unless named), grown by ``pixels``."""
    return semantic_roi(image, model, pixels)[0]

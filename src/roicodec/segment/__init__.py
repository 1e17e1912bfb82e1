"""Automatic ROI from MMSegmentation Swin models (the ``segment`` extra: ``pip install "roicodec[segment]"``).

Importing this package is cheap and works without the extra; torch and mmseg load when a segmenter is built.

    from roicodec.segment import segment_roi
    mask, seg = segment_roi(rgb)                   # embedded CamVid model, its default ROI classes
    mask, seg = segment_roi(rgb, "upernet-swin-t-ade20k", ["person", "car"])
"""

from __future__ import annotations

from roicodec.segment.auto import segment_roi
from roicodec.segment.cache import ENV_VAR as CACHE_ENV_VAR
from roicodec.segment.cache import cache_dir
from roicodec.segment.extra import INSTALL_HINT, SegmentExtraMissing, missing_modules, require_segment_extra
from roicodec.segment.roi import roi_mask
from roicodec.segment.segmenter import Segmentation, Segmenter, load_segmenter
from roicodec.segment.sources import EMBEDDED, ModelSource, model_names, resolve

__all__ = [
    "CACHE_ENV_VAR", "EMBEDDED", "INSTALL_HINT", "ModelSource", "SegmentExtraMissing", "Segmentation", "Segmenter",
    "cache_dir", "load_segmenter", "missing_modules", "model_names", "require_segment_extra", "resolve", "roi_mask", "segment_roi",
]

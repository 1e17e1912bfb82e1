"""Automatic ROI from MMSegmentation Swin models (the ``segment`` extra: ``pip install "roicodec[segment]"``).

Importing this package is cheap and works without the extra; torch and mmseg load when a segmenter is built.

    from roicodec.segment import segment_roi
    mask, seg = segment_roi(pixels)                # the embedded model that fits the image; seg.model says which
    mask, seg = segment_roi(rgb, "camvid")         # street scenes: CamVid's object classes
    mask, seg = segment_roi(rgb, "upernet-swin-t-ade20k", ["person", "car"])
    mask = otsu_mask(pixels, invert=True)          # no network: Otsu's threshold (dark objects)
"""

from __future__ import annotations

from roicodec.segment.auto import AUTO, choose_model, segment_roi
from roicodec.segment.cache import ENV_VAR as CACHE_ENV_VAR
from roicodec.segment.cache import cache_dir
from roicodec.segment.choose import image_kind
from roicodec.segment.extra import INSTALL_HINT, SegmentExtraMissing, missing_modules, require_segment_extra
from roicodec.segment.normalise import microscopy_rgb
from roicodec.segment.roi import roi_mask
from roicodec.segment.segmenter import Segmentation, Segmenter, load_segmenter
from roicodec.segment.sources import (EMBEDDED, NUCLEI, SALIENT, ModelNotInstalled, ModelSource, installed,
                                      model_names, resolve)
from roicodec.segment.threshold import grow, otsu_mask

__all__ = [
    "AUTO", "CACHE_ENV_VAR", "EMBEDDED", "INSTALL_HINT", "NUCLEI", "SALIENT", "ModelNotInstalled", "ModelSource",
    "SegmentExtraMissing", "Segmentation", "Segmenter", "cache_dir", "choose_model", "grow", "image_kind", "installed",
    "load_segmenter", "microscopy_rgb", "missing_modules", "model_names", "otsu_mask", "require_segment_extra",
    "resolve", "roi_mask", "segment_roi",
]

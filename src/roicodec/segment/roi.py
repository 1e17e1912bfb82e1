"""From a segmentation to an ROI mask: the pixels of the chosen classes."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from roicodec.errors import RoiError
from roicodec.segment.segmenter import Segmentation


def class_indices(classes: Iterable[str], known: tuple[str, ...]) -> list[int]:
    """Indices of ``classes`` in ``known``, matched without regard to case; an unknown name is an error."""
    lookup = {name.lower(): i for i, name in enumerate(known)}
    wanted = [c.strip() for c in classes if c.strip()]
    unknown = [c for c in wanted if c.lower() not in lookup]
    if unknown:
        raise RoiError(f"unknown class {', '.join(map(repr, unknown))}; this model knows: {', '.join(known)}")
    if not wanted:
        raise RoiError("no ROI classes given: name at least one class")
    return [lookup[c.lower()] for c in wanted]


def roi_mask(segmentation: Segmentation, classes: Iterable[str], min_confidence: float = 0.0) -> np.ndarray:
    """Boolean HxW mask of pixels labelled with one of ``classes`` at confidence ``min_confidence`` or more."""
    mask = np.isin(segmentation.labels, class_indices(classes, segmentation.classes))
    if min_confidence > 0:
        mask &= segmentation.confidence >= min_confidence
    return mask

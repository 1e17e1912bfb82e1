"""One call from pixels to an ROI mask: what the CLI's ``--roi auto``, batch jobs and the napari widgets need."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from roicodec.errors import RoiError
from roicodec.segment.choose import MICROSCOPY, image_kind
from roicodec.segment.roi import roi_mask
from roicodec.segment.segmenter import Progress, Segmentation, load_segmenter
from roicodec.segment.sources import NUCLEI, SALIENT
from roicodec.segment.threshold import grow as grow_mask

AUTO = "auto"
"""The model name that asks :func:`choose_model` to pick (``None`` means the same)."""


def choose_model(image: np.ndarray, model: str | None = None) -> tuple[str, str]:
    """``(model name, why)``: ``model`` itself when named, else the embedded model that fits ``image`` (the rule
    in :mod:`roicodec.segment.choose`)."""
    if model is not None and str(model) != AUTO:
        return str(model), "named"
    kind = image_kind(image)
    return (NUCLEI if kind.kind == MICROSCOPY else SALIENT), f"{kind.kind}: {kind.reason}"


def segment_roi(image: np.ndarray, model: str | None = None, classes: Sequence[str] | None = None,
                checkpoint: str | None = None, progress: Progress | None = None,
                min_confidence: float = 0.0, grow: int = 0) -> tuple[np.ndarray, Segmentation]:
    """Segment an image and return ``(mask, segmentation)``.

    ``image``: HxW or HxWx3, 8-bit for photographs, any depth for microscopy. ``model``: ``None`` or ``"auto"``
    (the embedded model that fits the image), a name, a zoo name or a local config with ``checkpoint``;
    ``segmentation.model`` and ``segmentation.reason`` say which ran and why. ``classes`` defaults to the model's own
    ROI classes (the subject, nuclei, or objects such as cars, not sky or road). ``grow`` dilates the mask by that many
    pixels so that object edges are inside it. ``progress(done, total)`` reports tiles as they finish.
    """
    name, reason = choose_model(image, model)
    segmenter = load_segmenter(name, checkpoint)
    chosen = tuple(classes) if classes else segmenter.roi_classes
    if not chosen:
        raise RoiError(f"model {segmenter.name} has no default ROI classes: name some of "
                       f"{', '.join(segmenter.classes)}")
    segmentation = dataclasses.replace(segmenter(image, progress), reason=reason)
    return grow_mask(roi_mask(segmentation, chosen, min_confidence), grow), segmentation

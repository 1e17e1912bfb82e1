"""One call from pixels to an ROI mask: what the CLI's ``--roi auto`` and a napari widget need."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from roicodec.errors import RoiError
from roicodec.segment.roi import roi_mask
from roicodec.segment.segmenter import Progress, Segmentation, load_segmenter


def segment_roi(image: np.ndarray, model: str | None = None, classes: Sequence[str] | None = None,
                checkpoint: str | None = None, progress: Progress | None = None,
                min_confidence: float = 0.0) -> tuple[np.ndarray, Segmentation]:
    """Segment an HxWx3 uint8 RGB image and return ``(mask, segmentation)``.

    ``model`` is a name (default: the embedded model), a zoo name or a local config with ``checkpoint``;
    ``classes`` defaults to the model's own ROI classes (objects such as cars and people, not sky or road).
    ``progress(done, total)`` reports tiles as they finish.
    """
    segmenter = load_segmenter(model, checkpoint)
    chosen = tuple(classes) if classes else segmenter.roi_classes
    if not chosen:
        raise RoiError(f"model {segmenter.name} has no default ROI classes: name some of "
                       f"{', '.join(segmenter.classes)}")
    segmentation = segmenter(image, progress)
    return roi_mask(segmentation, chosen, min_confidence), segmentation

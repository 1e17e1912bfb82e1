"""Per-class IoU from a confusion matrix, the way mmseg's IoUMetric counts it (ignored pixels left out)."""

from __future__ import annotations

import numpy as np


def confusion(pred: np.ndarray, label: np.ndarray, num_classes: int) -> np.ndarray:
    """``num_classes`` x ``num_classes`` counts, rows = truth, columns = prediction; labels outside the range skip."""
    keep = label < num_classes
    index = label[keep].astype(np.int64) * num_classes + pred[keep].astype(np.int64)
    return np.bincount(index, minlength=num_classes**2).reshape(num_classes, num_classes)


def class_iou(matrix: np.ndarray) -> np.ndarray:
    """IoU per class; NaN for a class absent from both truth and prediction."""
    tp = np.diag(matrix).astype(np.float64)
    union = matrix.sum(0) + matrix.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return tp / union

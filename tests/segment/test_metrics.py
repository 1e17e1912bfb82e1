import numpy as np

from roicodec.segment.metrics import class_iou, confusion


def test_iou_counts_like_mmseg_and_skips_ignored_pixels() -> None:
    label = np.array([0, 0, 1, 1, 2, 255])
    pred = np.array([0, 1, 1, 1, 1, 0])
    matrix = confusion(pred, label, 3)
    assert matrix.sum() == 5
    iou = class_iou(matrix)
    assert np.allclose(iou, [1 / 2, 2 / 4, 0.0])
    assert np.isnan(class_iou(confusion(np.zeros(2, int), np.zeros(2, int), 2))[1])

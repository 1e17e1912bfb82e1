import numpy as np
import pytest

from roicodec.errors import RoiError
from roicodec.segment import Segmentation, roi_mask

SEG = Segmentation(labels=np.array([[0, 1], [2, 1]], np.uint8), confidence=np.array([[0.9, 0.4], [0.8, 0.7]],
                   np.float32), classes=("Sky", "Car", "Pedestrian"))


def test_selected_classes_make_the_mask_case_insensitively() -> None:
    assert roi_mask(SEG, ["car"]).tolist() == [[False, True], [False, True]]
    assert roi_mask(SEG, ["Car", "PEDESTRIAN"]).tolist() == [[False, True], [True, True]]
    assert roi_mask(SEG, ["Car"], min_confidence=0.5).tolist() == [[False, False], [False, True]]


def test_unknown_or_no_class_is_an_error_naming_the_known_ones() -> None:
    with pytest.raises(RoiError, match="unknown class 'truck'.*Sky, Car, Pedestrian"):
        roi_mask(SEG, ["car", "truck"])
    with pytest.raises(RoiError, match="no ROI classes"):
        roi_mask(SEG, [" "])

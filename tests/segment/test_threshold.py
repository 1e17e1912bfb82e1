import numpy as np
import pytest

from roicodec.errors import RoiError
from roicodec.segment.threshold import grow, otsu_mask

pytest.importorskip("skimage")


def test_otsu_finds_bright_objects_and_with_invert_dark_ones_at_16_bits() -> None:
    image = np.full((40, 50), 300, np.uint16)
    image[10:20, 15:35] = 3000
    bright = otsu_mask(image, smoothing=0)
    assert bright[10:20, 15:35].all() and bright.sum() == 200
    assert np.array_equal(otsu_mask(image, smoothing=0, invert=True), ~bright)
    with pytest.raises(RoiError, match="flat"):
        otsu_mask(np.zeros((10, 10), np.uint8))


def test_grow_is_a_disc_of_the_given_radius() -> None:
    mask = np.zeros((21, 21), bool)
    mask[10, 10] = True
    grown = grow(mask, 3)
    yy, xx = np.mgrid[:21, :21]
    assert np.array_equal(grown, (yy - 10) ** 2 + (xx - 10) ** 2 <= 9)
    assert grow(mask, 0) is not None and np.array_equal(grow(mask, 0), mask)
    assert not grow(np.zeros((3, 3), bool), 2).any()
    with pytest.raises(RoiError, match="0 pixels or more"):
        grow(mask, -1)

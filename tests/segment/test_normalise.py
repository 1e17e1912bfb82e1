import numpy as np
import pytest

from roicodec.errors import UnsupportedImageError
from roicodec.segment.normalise import PERCENTILES, microscopy_rgb, planes


def test_8_and_16_bit_of_the_same_picture_give_the_same_input() -> None:
    rng = np.random.default_rng(0)
    eight = rng.integers(0, 40, (50, 60), np.uint8)
    eight[10:20, 10:30] = 200
    out = microscopy_rgb(eight)
    assert out.dtype == np.uint8 and out.shape == (50, 60, 3) and (out[..., 0] == out[..., 2]).all()
    # A 12-bit camera's image of the same scene, offset: the stretch makes it the same picture.
    deep = eight.astype(np.uint16) * 16 + 100
    assert np.abs(microscopy_rgb(deep).astype(int) - out).max() <= 1


def test_percentiles_become_black_and_white() -> None:
    image = np.linspace(0, 4095, 100 * 100).reshape(100, 100).astype(np.uint16)
    out = microscopy_rgb(image)[..., 0]
    low, high = np.percentile(image, PERCENTILES)
    assert out[image <= low].max() == 0 and out[image >= high].min() == 255
    assert 100 < out[50, 50] < 155


def test_colour_keeps_its_balance_and_flat_images_do_not_divide_by_zero() -> None:
    rgb = np.zeros((10, 10, 3), np.uint8)
    rgb[..., 0], rgb[..., 2] = 200, 100
    out = microscopy_rgb(rgb)
    assert out[0, 0, 0] > out[0, 0, 2] > out[0, 0, 1]
    assert microscopy_rgb(np.full((5, 5), 7, np.uint16)).shape == (5, 5, 3)


def test_what_is_not_an_image_is_refused() -> None:
    with pytest.raises(UnsupportedImageError, match="HxW"):
        planes(np.zeros((4, 5, 6, 7)))
    assert planes(np.zeros((4, 5, 4), np.uint8)).shape == (4, 5)  # RGBA of equal channels: gray

"""The measures of DESIGN.md section 4 against values known in advance."""

import math

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from roicodec.metrics import bd_rate, bpp, masked_mean, monotone, psnr, quality_overlap, ssim, ssim_map

from conftest import sample_path


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from PIL import Image

    return np.ascontiguousarray(np.asarray(Image.open(sample_path("astronaut.png")).convert("RGB"))[40:140, 150:270])


def noisy(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


def test_bpp_counts_every_byte() -> None:
    assert bpp(1000, 100, 80) == 1.0
    assert bpp(3, 2, 3) == 4.0


def test_psnr_of_a_known_perturbation() -> None:
    ref = np.full((8, 10, 3), 100, np.uint8)
    test = ref + np.uint8(5)  # every sample off by 5: MSE 25
    assert psnr(ref, test) == pytest.approx(10 * math.log10(255**2 / 25))
    assert psnr(ref, ref) == math.inf


def test_roi_psnr_sees_only_the_roi() -> None:
    ref = np.zeros((4, 4, 3), np.uint8)
    test = ref.copy()
    test[0, 0] = 51  # one pixel off by 51 in every channel
    mask = np.zeros((4, 4), bool)
    mask[:2, :2] = True
    assert psnr(ref, test, mask) == pytest.approx(10 * math.log10(255**2 * 4 / 51**2))
    assert psnr(ref, test, ~mask) == math.inf


def test_ssim_of_identical_images_is_one(photo: np.ndarray) -> None:
    mask = np.zeros(photo.shape[:2], bool)
    mask[20:60, 30:90] = True
    assert ssim(photo, photo) == 1.0
    assert ssim(photo, photo, mask) == 1.0


def test_ssim_is_scikit_images_with_the_design_settings(photo: np.ndarray) -> None:
    test = noisy(photo, 12)
    expected = structural_similarity(photo, test, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                     data_range=255, channel_axis=2)
    assert ssim(photo, test) == pytest.approx(expected, abs=1e-12)
    assert 0 < ssim(photo, test) < 1
    assert ssim(photo, test, np.ones(photo.shape[:2], bool)) == pytest.approx(expected, abs=1e-12)


def test_roi_ssim_is_local(photo: np.ndarray) -> None:
    mask = np.zeros(photo.shape[:2], bool)
    mask[:, :50] = True
    test = photo.copy()
    test[:, 70:] = noisy(photo, 30)[:, 70:]  # damage far from the ROI (more than a window away)
    assert ssim(photo, test, mask) == pytest.approx(1.0)
    assert ssim(photo, test) < 0.9


def test_ssim_map_since_recomputes_only_what_changed_and_agrees(photo: np.ndarray) -> None:
    before = noisy(photo, 10)
    after = before.copy()
    after[30:60, 40:80] = photo[30:60, 40:80]
    after[0:5, 110:120] = photo[0:5, 110:120]  # a change at the corner, against the image's edge
    smap = ssim_map(photo, before)
    assert np.array_equal(ssim_map(photo, after, (before, smap)), ssim_map(photo, after), equal_nan=True)
    assert np.array_equal(ssim_map(photo, before, (before, smap)), smap, equal_nan=True)


def test_masked_mean_skips_nan() -> None:
    values = np.array([[1.0, np.nan], [3.0, 5.0]])
    assert masked_mean(values) == 3.0
    assert masked_mean(values, np.array([[True, True], [False, False]])) == 1.0
    assert math.isnan(masked_mean(values, np.array([[False, True], [False, False]])))


RATES = [0.25, 0.5, 1.0, 2.0, 4.0]
PSNRS = [28.0, 31.0, 34.5, 38.0, 42.0]


def test_bd_rate_of_a_curve_against_itself_is_zero() -> None:
    assert bd_rate(RATES, PSNRS, RATES, PSNRS) == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("ratio", [0.8, 0.5, 1.25])
def test_bd_rate_of_a_curve_shifted_by_a_known_rate_ratio(ratio: float) -> None:
    assert bd_rate(RATES, PSNRS, [r * ratio for r in RATES], PSNRS) == pytest.approx(100 * (ratio - 1), abs=1e-9)


def test_bd_rate_with_different_point_counts_and_partial_overlap() -> None:
    # The same underlying curve sampled elsewhere: still no difference over the common range.
    def quality(r: float) -> float:
        return 30 + 6 * math.log2(r)

    test_rates = [0.3, 0.7, 1.5, 6.0]
    assert bd_rate(RATES, [quality(r) for r in RATES], test_rates, [quality(r) for r in test_rates]) == pytest.approx(
        0, abs=0.5)


def test_bd_rate_without_common_range_is_nan() -> None:
    assert math.isnan(bd_rate(RATES, PSNRS, RATES, [p + 100 for p in PSNRS]))


def test_monotone_keeps_points_that_raise_quality() -> None:
    rates, quality = monotone([2.0, 1.0, 3.0, 4.0], [30.0, 25.0, 29.0, 31.0])
    assert rates.tolist() == [1.0, 2.0, 4.0]
    assert quality.tolist() == [25.0, 30.0, 31.0]


def test_quality_overlap() -> None:
    assert quality_overlap([20, 30], [20, 30]) == 1.0
    assert quality_overlap([20, 30], [25, 35]) == pytest.approx(5 / 15)
    assert quality_overlap([20, 30], [31, 35]) == 0.0

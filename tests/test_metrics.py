"""The measures of docs/measures.md against values known in advance."""

import math

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from roicodec.metrics import (
    MS_SSIM_WEIGHTS,
    bd_rate,
    bpp,
    masked_mean,
    monotone,
    ms_ssim,
    ms_ssim_db,
    ms_ssim_min_side,
    psnr,
    quality_overlap,
    ssim,
    ssim_map,
)


@pytest.fixture(scope="module")
def photo(astronaut: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(astronaut[40:140, 150:270])


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

    # Quality linear in log rate: the interpolation is exact, so the answers are too, to rounding.
    test_rates = [0.3, 0.7, 1.5, 6.0]
    anchor = [quality(r) for r in RATES]
    assert bd_rate(RATES, anchor, test_rates, [quality(r) for r in test_rates]) == pytest.approx(0, abs=1e-9)
    # And a codec that needs 1 / 0.9 of the rate everywhere, sampled at its own points, costs 11.1 % more.
    slower = [quality(0.9 * r) for r in test_rates]
    assert bd_rate(RATES, anchor, test_rates, slower) == pytest.approx(100 * (1 / 0.9 - 1), abs=1e-9)


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


# MS-SSIM: neither tensorflow nor pytorch_msssim is installed here, so the checks are a value worked out by hand,
# scikit-image's SSIM at one scale, and pytorch_msssim's algorithm transcribed below with torch's own convolution
# and average pooling (an independent path to the same number, odd sides included).


def test_ms_ssim_of_identical_images_is_one(photo: np.ndarray) -> None:
    big = np.ascontiguousarray(np.asarray(photo).repeat(2, axis=0).repeat(2, axis=1))  # 200x240
    assert ms_ssim(big, big) == 1.0


def test_ms_ssim_of_flat_images_is_the_luminance_term_at_the_coarsest_scale() -> None:
    # Flat images have no contrast or structure: every cs term is 1, and only the fifth scale's luminance term
    # (2ab + C1) / (a^2 + b^2 + C1) remains, raised to its weight 0.1333; channels are averaged.
    ref = np.empty((176, 192, 3), np.uint8)
    test = np.empty_like(ref)
    ref[:], test[:] = (100, 50, 200), (120, 50, 150)
    c1 = (0.01 * 255) ** 2
    expected = np.mean([((2 * a * b + c1) / (a * a + b * b + c1)) ** 0.1333 for a, b in ((100, 120), (50, 50),
                                                                                         (200, 150))])
    assert ms_ssim(ref, test) == pytest.approx(expected, abs=1e-12)


def test_ms_ssim_at_one_scale_is_the_design_ssim(photo: np.ndarray) -> None:
    test = noisy(photo, 12)
    assert ms_ssim(photo, test, weights=(1.0,)) == pytest.approx(ssim(photo, test), abs=1e-12)


def _pytorch_msssim(x: np.ndarray, y: np.ndarray) -> float:
    """pytorch_msssim.ms_ssim (VainF/pytorch-msssim, the implementation CompressAI uses), in float64."""
    import torch
    import torch.nn.functional as F

    weights = torch.tensor(MS_SSIM_WEIGHTS, dtype=torch.float64)
    coords = torch.arange(11, dtype=torch.float64) - 5
    g = torch.exp(-(coords ** 2) / (2 * 1.5 ** 2))
    win = (g / g.sum()).reshape(1, 1, 1, 11).repeat(3, 1, 1, 1)

    def blur(t):
        return F.conv2d(F.conv2d(t, win, groups=3), win.transpose(2, 3), groups=3)

    X, Y = (torch.from_numpy(a.astype(np.float64)).permute(2, 0, 1)[None] for a in (x, y))
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mcs = []
    for i in range(5):
        mu1, mu2 = blur(X), blur(Y)
        s1, s2, s12 = blur(X * X) - mu1 ** 2, blur(Y * Y) - mu2 ** 2, blur(X * Y) - mu1 * mu2
        cs_map = (2 * s12 + c2) / (s1 + s2 + c2)
        ssim_map = (2 * mu1 * mu2 + c1) / (mu1 ** 2 + mu2 ** 2 + c1) * cs_map
        if i < 4:
            mcs.append(torch.relu(cs_map.flatten(2).mean(-1)))
            padding = (X.shape[2] % 2, X.shape[3] % 2)
            X, Y = F.avg_pool2d(X, 2, padding=padding), F.avg_pool2d(Y, 2, padding=padding)
    stack = torch.stack(mcs + [torch.relu(ssim_map.flatten(2).mean(-1))])
    return float(torch.prod(stack ** weights.view(-1, 1, 1), dim=0).mean())


@pytest.mark.parametrize("shape", [(192, 256), (171, 183)])  # even sides, and odd sides at every scale
def test_ms_ssim_is_pytorch_msssims(shape: tuple[int, int], astronaut: np.ndarray) -> None:
    photo = astronaut[100:100 + shape[0], 120:120 + shape[1]]
    for sigma in (4, 25):
        test = noisy(photo, sigma, seed=sigma)
        value = ms_ssim(photo, test)
        assert value == pytest.approx(_pytorch_msssim(photo, test), abs=1e-10)
        assert 0 < value < 1


def test_ms_ssim_refuses_images_too_small_for_five_scales(photo: np.ndarray) -> None:
    assert ms_ssim_min_side() == 161
    with pytest.raises(ValueError, match="161x161"):
        ms_ssim(photo, photo)
    flat = np.full((161, 161), 7, np.uint8)
    assert ms_ssim(flat, flat) == 1.0  # the smallest size, in gray


def test_ms_ssim_db() -> None:
    assert ms_ssim_db(0.99) == pytest.approx(20.0)
    assert ms_ssim_db(0.9) == pytest.approx(10.0)
    assert ms_ssim_db(1.0) is None and ms_ssim_db(None) is None

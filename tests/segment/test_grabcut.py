"""GrabCut from a binary model's probability (roicodec.segment.grabcut), with OpenCV's real grabCut."""

import numpy as np
import pytest

from roicodec.segment.grabcut import describe, follow_edges

pytest.importorskip("cv2")

SETTINGS = {"side": 320, "iterations": 3, "sure": 0.05}


def _scene(height: int, width: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A red disc on a noisy blue-green ground, and the disc's true mask."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:height, :width]
    disc = (yy - height * 0.5) ** 2 + (xx - width * 0.45) ** 2 < (min(height, width) * 0.3) ** 2
    image = np.empty((height, width, 3), np.float64)
    image[:] = (40, 120, 160)
    image[disc] = (200, 40, 30)
    image += rng.normal(0, 12, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), disc


def _coarse(disc: np.ndarray) -> np.ndarray:
    """What a low-resolution model gives: the disc's probability blurred, shifted and too wide."""
    from scipy import ndimage

    p = ndimage.gaussian_filter(disc.astype(np.float64), sigma=disc.shape[0] / 25)
    p = ndimage.shift(p, (0, disc.shape[1] / 30), order=1)
    return np.clip(p * 1.15, 0, 1).astype(np.float32)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return (a & b).sum() / (a | b).sum()


@pytest.mark.parametrize("height, width", [(150, 200), (600, 900)])
def test_the_cut_follows_the_subjects_edges_where_the_probability_is_soft(height, width) -> None:
    image, disc = _scene(height, width)
    p = _coarse(disc)
    decided = p >= 0.5
    found = follow_edges(image, p, 0.5, **SETTINGS)
    assert found.shape == disc.shape and found.dtype == bool
    # At 900 px the cut runs at 320 px and is resized back: its edge is within a pixel or two of the disc's.
    assert _iou(found, disc) > max(0.95, _iou(decided, disc) + 0.05)


def test_pixels_the_model_is_sure_of_stay_as_the_model_gave_them() -> None:
    image, disc = _scene(150, 200)
    p = _coarse(disc)
    p[:20, :20] = 0.99  # "sure" subject in the background's colour, far from the disc
    found = follow_edges(image, p, 0.5, **SETTINGS)
    assert found[:20, :20].all()


def test_one_image_gives_one_mask_whatever_opencvs_random_state() -> None:
    import cv2

    image, disc = _scene(150, 200, seed=1)
    p = _coarse(disc)
    first = follow_edges(image, p, 0.5, **SETTINGS)
    cv2.setRNGSeed(12345)
    cv2.randu(np.empty((100, 100), np.float32), 0, 1)
    assert np.array_equal(first, follow_edges(image, p, 0.5, **SETTINGS))


@pytest.mark.parametrize("value", [0.0, 0.3, 0.7, 1.0])
def test_a_probability_on_one_side_everywhere_keeps_the_models_decision(value) -> None:
    image, _ = _scene(60, 80)
    p = np.full((60, 80), value, np.float32)
    assert np.array_equal(follow_edges(image, p, 0.5, **SETTINGS), p >= 0.5)


def test_describe_names_the_settings() -> None:
    assert describe(SETTINGS) == ("GrabCut seeded by the probability (3 iterations, at most 320 px on the long side, "
                                  "sure below 0.05 and above 0.95)")

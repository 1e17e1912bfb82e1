"""The --roi auto rule on real images of each kind, and the modality rule the nuclei figures are split by."""

import numpy as np
import pytest
from PIL import Image
from shared_data import DATA

from roicodec.segment import NUCLEI, SALIENT, choose_model, image_kind
from roicodec.segment.choose import BRIGHTFIELD, FLUORESCENCE, MICROSCOPY, PHOTOGRAPH, STAINED, modality


def _open(folder: str, index: int = 0) -> np.ndarray:
    return np.asarray(Image.open(sorted((DATA / folder / "images").glob("*.png"))[index]))


def _colour(folder: str) -> list[np.ndarray]:
    out = []
    for path in sorted((DATA / folder / "images").glob("*.png")):
        a = np.asarray(Image.open(path).convert("RGB"))
        if not np.array_equal(a[..., 0], a[..., 2]):
            out.append(a)
    return out


def test_the_astronaut_is_a_photograph_and_goes_to_the_salient_model(astronaut) -> None:
    assert image_kind(astronaut).kind == PHOTOGRAPH
    assert choose_model(astronaut) == (SALIENT, "photograph: 8-bit colour, not stain-like")


def test_a_16_bit_bbbc039_image_goes_to_the_nuclei_model() -> None:
    image = _open("bbbc039")
    assert image.dtype == np.uint16
    name, why = choose_model(image)
    assert name == NUCLEI and why == "microscopy: 16-bit gray pixels"
    assert modality(image) == FLUORESCENCE


def test_stained_dsb2018_images_go_to_the_nuclei_model() -> None:
    stained = _colour("dsb2018")
    assert len(stained) == 9
    assert all(choose_model(a)[0] == NUCLEI for a in stained)
    assert "stain-like" in choose_model(stained[0])[1] and modality(stained[0]) == STAINED


def test_gray_saved_as_rgb_is_gray() -> None:
    image = np.asarray(Image.open(sorted((DATA / "dsb2018" / "images").glob("*.png"))[1]).convert("RGB"))
    if not np.array_equal(image[..., 0], image[..., 2]):
        pytest.skip("that image is colour")
    assert image_kind(image).reason == "gray"


def test_street_scenes_are_photographs_reached_by_name(camvid_frame) -> None:
    assert choose_model(camvid_frame[0])[0] == SALIENT
    assert choose_model(camvid_frame[0], "camvid") == ("camvid", "named")


def test_photographs_rarely_look_stained() -> None:
    """Of ECSSD's colour photographs and Kodak, at most 1 % go to the nuclei model (the rule was set on them)."""
    paths = sorted((DATA / "ecssd" / "images").glob("*.jpg"))[::4] + sorted((DATA / "kodak").glob("*.png"))
    kinds = [image_kind(np.asarray(Image.open(p))).kind for p in paths]
    colour = [k for k, p in zip(kinds, paths) if Image.open(p).mode == "RGB"]
    assert sum(k == MICROSCOPY for k in colour) <= 0.01 * len(colour) + 1


def test_brightfield_is_gray_with_a_light_background() -> None:
    image = np.full((64, 64), 220, np.uint8)
    image[20:30, 20:30] = 40
    assert modality(image) == BRIGHTFIELD and modality(255 - image) == FLUORESCENCE

"""Images, crops and ROI sources of the benchmark."""

import numpy as np
import pytest
from PIL import Image

from roicodec.bench import data


def test_centre_crop_takes_the_middle() -> None:
    image = np.arange(10 * 12).reshape(10, 12)
    crop = data.centre_crop(image, (4, 6))
    assert crop.shape == (4, 6)
    assert crop[0, 0] == image[3, 3]
    portrait = np.zeros((768, 512, 3), np.uint8)
    assert data.centre_crop(portrait, (192, 256)).shape == (192, 256, 3)
    with pytest.raises(ValueError, match="smaller"):
        data.centre_crop(np.zeros((100, 100)), (192, 256))


def test_parse_size() -> None:
    assert data.parse_size("full") is None
    assert data.parse_size("192x256") == (192, 256)
    with pytest.raises(ValueError):
        data.parse_size("big")


def test_centre_roi_is_half_the_width_and_height() -> None:
    mask = data.centre_roi(None, np.zeros((192, 256, 3), np.uint8))
    assert mask.sum() == 96 * 128
    assert mask[48:144, 64:192].all()


def test_items_recompute_the_fallback_on_each_crop(tmp_path) -> None:
    Image.fromarray(np.zeros((100, 120, 3), np.uint8)).save(tmp_path / "a.png")
    items = list(data.items(data.image_paths(tmp_path), ["full", "40x60"], data.roi_source("centre")))
    assert [i.size for i in items] == ["full", "40x60"]
    assert items[1].mask.sum() == 20 * 30


def test_mask_folder_is_read_at_full_size_and_cropped(tmp_path) -> None:
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    Image.fromarray(np.zeros((100, 120, 3), np.uint8)).save(images / "a.png")
    m = np.zeros((100, 120), np.uint8)
    m[40:60, 50:70] = 255
    Image.fromarray(m).save(masks / "a.png")
    items = list(data.items(data.image_paths(images), ["full", "40x60"], data.roi_source("masks", masks)))
    assert items[0].mask.sum() == 400
    assert items[1].mask.shape == (40, 60) and items[1].mask.sum() == 400
    Image.fromarray(np.zeros((100, 120), np.uint8)).save(masks / "a.png")
    with pytest.raises(ValueError, match="no pixel"):
        list(data.items(data.image_paths(images), ["full"], data.roi_source("masks", masks)))
    (masks / "a.png").unlink()
    with pytest.raises(FileNotFoundError, match="no mask"):
        list(data.items(data.image_paths(images), ["full"], data.roi_source("masks", masks)))


def test_auto_roi_uses_the_embedded_segmenter(astronaut) -> None:
    """The benchmark's ROI is the embedded segmenter's labels of its own ROI classes, on the image as coded."""
    from roicodec.segment import EMBEDDED, load_segmenter

    crop = astronaut[:240, :320]
    source = data.roi_source("auto")
    mask = source.find(None, crop)
    assert source.name == "auto" and not source.full_size and mask.dtype == bool
    segmenter = load_segmenter(EMBEDDED)
    wanted = [segmenter.classes.index(name) for name in segmenter.roi_classes]
    assert np.array_equal(mask, np.isin(segmenter(crop).labels, wanted))
    assert 0 < mask.mean() < 1  # the crop holds some of those classes and other pixels: the check can tell

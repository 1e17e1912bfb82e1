"""The core codec's acceptance on the Kodak set: every image, a central rectangular ROI, the default ladder."""

import numpy as np
import pytest
from PIL import Image
from shared_data import kodak

import roicodec
from roicodec.metrics import psnr


@pytest.mark.parametrize("path", kodak(), ids=lambda p: p.stem)
def test_ladder_on_kodak(path) -> None:
    image = np.asarray(Image.open(path).convert("RGB"))
    h, w = image.shape[:2]
    mask = np.zeros((h, w), bool)
    mask[h // 4:3 * h // 4, w // 4:3 * w // 4] = True
    data = roicodec.encode(image, mask)
    with roicodec.open(data) as f:
        levels = f.decode_all()
        info = f.level_info
    roi_psnr = [psnr(image, level, mask) for level in levels]
    assert all(a < b for a, b in zip(roi_psnr, roi_psnr[1:])), roi_psnr
    assert roi_psnr[-1] >= 45, roi_psnr
    for level in levels[1:]:
        assert np.array_equal(level[~mask], levels[0][~mask])
    # bpp is every byte of the file up to the level: the top level is the whole file.
    assert info[-1].bytes == len(data)
    assert [i.bpp for i in info] == [i.bytes * 8 / (w * h) for i in info]
    assert all(a.bytes < b.bytes for a, b in zip(info, info[1:]))

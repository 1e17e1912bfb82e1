"""The salient-object samples keep most of the picture: a window of 80-100 % of each side, image and label aligned."""

import numpy as np

from training.segdata import whole_view


def test_whole_view_keeps_most_of_the_image_and_its_label_aligned() -> None:
    rng = np.random.default_rng(0)
    h, w = 300, 400
    yy, xx = np.mgrid[:h, :w]
    label = ((yy > 100) & (xx > 150)).astype(np.uint8)  # a quadrant whose corner must stay inside every view
    image = np.stack([yy % 256, xx % 256, label * 255], axis=-1).astype(np.uint8)
    for _ in range(20):
        img, lab = whole_view(image, label, 64, rng, (0.8, 1.0))
        assert img.shape == (3, 64, 64) and lab.shape == (64, 64)
        # The label is the third channel's image, resized the same way: they agree away from the edge.
        inner = (img[2] > 250) == (lab == 1)
        assert inner.float().mean() > 0.97
        # The view spans at least 80 % of each side: the quadrant covers about a quarter to two thirds of it.
        assert 0.2 < lab.float().mean() < 0.7

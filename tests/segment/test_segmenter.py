import numpy as np
import pytest

from roicodec.errors import UnsupportedImageError
from roicodec.segment import EMBEDDED, Segmenter, load_segmenter
from training.camvid import CLASSES
from roicodec.segment.segmenter import _tiles

pytest.importorskip("mmseg")


def _ramp():
    """A stand-in model: logits (0, x) with x rising from -3 to 3 left to right whatever the pixels, so that
    p(class 1) = sigmoid(x); its mirror image, mapped back, falls."""
    import torch

    class Ramp(torch.nn.Module):
        def extract_feat(self, x):
            return x

        def decode_head(self, x):
            ramp = torch.linspace(-3, 3, x.shape[-1]).expand(x.shape[-2], -1)
            return torch.stack([torch.zeros_like(ramp), ramp])[None]

    return Ramp()


RAMP_ARGS = (("background", "subject"), ("subject",), (0.0,) * 3, (1.0,) * 3, None, 64, "ramp")


@pytest.fixture(scope="module")
def embedded() -> Segmenter:
    return load_segmenter(EMBEDDED)


@pytest.mark.parametrize("size,window,margin", [(100, 200, 10), (100, 100, 10), (101, 40, 5), (1000, 256, 32)])
def test_tiles_cover_every_pixel_once_within_the_window(size, window, margin) -> None:
    covered = np.zeros(size, int)
    for start, stop, lo, hi in _tiles(size, window, margin):
        covered[start:stop] += 1
        assert lo <= start < stop <= hi and hi - lo <= window
        assert start - lo >= min(margin, start) and hi - stop >= min(margin, size - stop, hi - stop)
    assert (covered == 1).all()


def test_embedded_model_segments_a_camvid_frame(embedded, camvid_frame) -> None:
    image, label = camvid_frame
    seg = embedded(image)
    assert seg.classes == CLASSES and seg.labels.shape == image.shape[:2] and seg.labels.dtype == np.uint8
    assert seg.confidence.dtype == np.float32 and 0 < seg.confidence.min() and seg.confidence.max() <= 1
    labelled = label != 11
    assert (seg.labels[labelled] == label[labelled]).mean() > 0.75
    assert embedded.roi_classes == ("Pole", "SignSymbol", "Car", "Pedestrian", "Bicyclist")


def test_sliding_windows_bound_the_model_input_and_agree_with_one_pass(embedded, camvid_frame) -> None:
    image, _ = camvid_frame
    whole = embedded(image)
    tiled = Segmenter(embedded.model, embedded.classes, embedded.roi_classes, embedded.mean, embedded.std,
                      short_side=None, window=240, name="tiled")
    shapes, calls = [], []
    hook = tiled.model.backbone.register_forward_pre_hook(lambda module, args: shapes.append(args[0].shape[-2:]))
    try:
        seg = tiled(image, progress=lambda done, total: calls.append((done, total)))
    finally:
        hook.remove()
    assert max(max(s) for s in shapes) <= 240 and len(shapes) == calls[-1][1] > 1
    assert calls == [(i, len(shapes)) for i in range(len(shapes) + 1)]
    assert (seg.labels == whole.labels).mean() > 0.9


def test_images_are_segmented_at_the_model_scale_and_returned_at_their_own(embedded, camvid_frame) -> None:
    image, _ = camvid_frame
    big = np.repeat(np.repeat(image, 2, axis=0), 2, axis=1)
    seg = embedded(big)
    assert seg.labels.shape == big.shape[:2] and seg.confidence.shape == big.shape[:2]
    assert (seg.labels[::2, ::2] == embedded(image).labels).mean() > 0.95
    gray = embedded(image[:, :, 1])
    assert gray.labels.shape == image.shape[:2]


def test_unsupported_pixels_are_refused(embedded) -> None:
    with pytest.raises(UnsupportedImageError, match="HxWx3"):
        embedded(np.zeros((8, 8, 4), np.uint8))
    with pytest.raises(UnsupportedImageError, match="8-bit"):
        embedded(np.zeros((8, 8, 3), np.uint16))


def test_a_binary_models_threshold_decides_its_labels() -> None:
    import torch

    image = np.zeros((8, 61), np.uint8)
    args = RAMP_ARGS
    p1 = torch.sigmoid(torch.linspace(-3, 3, 61)).numpy()
    likelier, strict = Segmenter(_ramp(), *args)(image), Segmenter(_ramp(), *args, threshold=0.7)(image)
    assert np.array_equal(likelier.labels[0], p1 > 0.5) and np.array_equal(strict.labels[0], p1 >= 0.7)
    # The confidence stays the probability of the label given.
    assert np.allclose(strict.confidence[0], np.where(p1 >= 0.7, p1, 1 - p1), atol=1e-6)


def test_a_whole_image_model_sees_every_image_at_its_square_and_answers_at_the_images_size(tmp_path,
                                                                                          monkeypatch) -> None:
    from roicodec.segment import SALIENT

    from . import toy_weights

    toy_weights.install(monkeypatch, tmp_path, {SALIENT: 10.0})
    segmenter = load_segmenter(SALIENT)
    assert segmenter.square == 256 and segmenter.working_size(300, 700) == (256, 256)
    shapes = []
    hook = segmenter.model.backbone.register_forward_pre_hook(lambda module, args: shapes.append(args[0].shape[-2:]))
    try:
        seg = segmenter(np.zeros((300, 700, 3), np.uint8))
    finally:
        hook.remove()
        load_segmenter.cache_clear()
    # One pass at the square (its position embedding's size), whatever the image's aspect.
    assert [tuple(s) for s in shapes] == [(256, 256)]
    assert seg.labels.shape == (300, 700) and seg.labels.all()


def test_a_binary_models_mask_follows_its_probability_at_the_images_size_not_the_working_grid() -> None:
    args = RAMP_ARGS
    seg = Segmenter(_ramp(), *args, threshold=0.667, square=16)(np.zeros((8, 160), np.uint8))
    first = int(np.argmax(seg.labels[0]))
    # Working columns 9 and 10 have p = 0.646 and 0.731: p = 0.667 a quarter of the way, at column 9.25, which is
    # pixel 97 of 160. Labels resized from the 16-column grid (nearest) would step at pixel 100.
    assert (seg.labels == seg.labels[0]).all() and (np.diff(seg.labels[0].astype(int)) >= 0).all()
    assert first in (96, 97, 98)


def test_mirror_averages_each_window_with_its_mirror_image_mapped_back() -> None:
    args = RAMP_ARGS
    image = np.zeros((8, 61), np.uint8)
    plain, mirrored = Segmenter(_ramp(), *args)(image), Segmenter(_ramp(), *args, mirror=True)(image)
    assert plain.labels[0, -1] == 1 and plain.confidence[0, -1] > 0.9
    # The rising ramp and the falling one cancel: even odds everywhere, so the likelier class is the background.
    assert np.allclose(mirrored.confidence, 0.5, atol=1e-6) and not mirrored.labels.any()


def test_a_refined_binary_model_cuts_along_the_images_edge_and_keeps_its_own_probability() -> None:
    # The ramp says "subject" from the middle column on; the image's subject (bright) starts at column 40. GrabCut
    # leaves what the model is sure of and moves the soft middle to the image's edge.
    image = np.full((40, 61, 3), 30, np.uint8)
    image[:, 40:] = 220
    image = np.clip(image + np.random.default_rng(0).normal(0, 6, image.shape), 0, 255).astype(np.uint8)
    refine = {"method": "grabcut", "side": 320, "iterations": 3, "sure": 0.05}
    plain = Segmenter(_ramp(), *RAMP_ARGS, threshold=0.5)(image)
    cut = Segmenter(_ramp(), *RAMP_ARGS, threshold=0.5, refine=refine)(image)
    assert plain.labels[:, 31:40].all()
    assert not cut.labels[:, :40].any() and cut.labels[:, 40:].all()
    p1 = np.broadcast_to(plain.confidence[0] * plain.labels[0] + (1 - plain.confidence[0]) * (1 - plain.labels[0]),
                         cut.labels.shape)
    assert np.allclose(cut.confidence, np.where(cut.labels == 1, p1, 1 - p1), atol=1e-6)


def test_weights_asking_for_an_unknown_refinement_are_refused(tmp_path, monkeypatch) -> None:
    from roicodec.errors import RoiError
    from roicodec.segment import SALIENT
    from roicodec.weights import read, write

    from . import toy_weights

    toy_weights.install(monkeypatch, tmp_path, {SALIENT: None})
    meta, arrays = read(tmp_path / f"{SALIENT}.npz")
    write(tmp_path / f"{SALIENT}.npz", arrays, dict(meta, threshold=0.5, refine={"method": "crf"}), compressed=True)
    load_segmenter.cache_clear()
    try:
        with pytest.raises(RoiError, match="refinement 'crf'.*upgrade roicodec"):
            load_segmenter(SALIENT)
    finally:
        load_segmenter.cache_clear()

"""A (5, 256, 256) stack with a mask per plane, through the API, Pillow and the napari reader and writer."""

import numpy as np
import pytest
from PIL import Image

import roicodec
from roicodec.metrics import psnr


@pytest.fixture(scope="module")
def stack(astronaut) -> tuple[np.ndarray, np.ndarray, bytes]:
    gray = np.asarray(Image.fromarray(astronaut).convert("L"))
    planes = np.stack([gray[i * 40:i * 40 + 256, i * 50:i * 50 + 256] for i in range(5)])
    masks = np.zeros(planes.shape, bool)
    for i in range(5):
        masks[i, 30 + 10 * i:120 + 10 * i, 40:200 - 20 * i] = True
    masks[2] = False  # a plane may have no ROI at all
    return planes, masks, roicodec.encode(planes, masks)


def test_api_round_trip(stack) -> None:
    planes, masks, data = stack
    with roicodec.open(data) as f:
        assert f.planes == (5,) and f.shape == (5, 256, 256) and f.levels == 4
        assert np.array_equal(f.mask, masks)
        levels = f.decode_all()
        assert [level.shape for level in levels] == [(5, 256, 256)] * 4
        for i in range(5):
            assert np.array_equal(f.decode(2, plane=i), levels[2][i])
            assert np.array_equal(f.plane_mask(i), masks[i])
            for level in levels[1:]:
                assert np.array_equal(level[i][~masks[i]], levels[0][i][~masks[i]])
            if masks[i].any():
                scores = [psnr(planes[i], level[i], masks[i]) for level in levels]
                assert all(a < b for a, b in zip(scores, scores[1:])) and scores[-1] >= 45


def test_one_mask_for_every_plane(stack) -> None:
    planes, masks, _ = stack
    with roicodec.open(roicodec.encode(planes[:3], masks[0], qualities=(90,))) as f:
        assert not f.header.mask_per_plane and f.mask.shape == (256, 256)
        assert f.decode().shape == (3, 256, 256)


def test_two_leading_axes_and_rgb(astronaut) -> None:
    cube = np.stack([np.stack([astronaut[t * 30:t * 30 + 64, z * 40:z * 40 + 80] for z in range(3)])
                     for t in range(2)])
    with roicodec.open(roicodec.encode(cube, qualities=(100,))) as f:
        assert f.planes == (2, 3) and f.shape == (2, 3, 64, 80, 3)
        assert np.array_equal(f.decode(plane=(1, 2)), f.decode()[1, 2])
        assert psnr(cube, f.decode()) > 45


def test_pillow_frames_are_plane_major(stack, tmp_path) -> None:
    _, _, data = stack
    path = tmp_path / "stack.roi"
    path.write_bytes(data)
    with roicodec.open(data) as f:
        levels = f.decode_all()
    with Image.open(path) as im:
        assert im.info["planes"] == (5,) and im.n_frames == 20 and im.tell() == 3
        for plane, level in [(0, 3), (4, 0), (2, 1), (3, 3)]:
            im.seek(plane * 4 + level)
            assert np.array_equal(np.asarray(im), levels[level][plane])


def test_napari_reader_is_lazy_and_writer_keeps_the_stack(stack, tmp_path) -> None:
    import dask.array as da

    from roicodec.napari._reader import read_roi
    from roicodec.napari._writer import write_roi

    _, masks, data = stack
    path = tmp_path / "stack.roi"
    path.write_bytes(data)
    (image, meta, kind), (labels, labels_meta, _) = read_roi(str(path))
    assert kind == "image" and isinstance(image, da.Array) and image.shape == (4, 5, 256, 256)
    assert meta["axis_labels"] == ("level", "plane", "y", "x")
    with roicodec.open(data) as f:
        assert np.array_equal(image[2, 3].compute(), f.decode(2, plane=3))
    assert np.array_equal(labels != 0, masks)

    write_roi(str(tmp_path / "same.roi"), [(image, meta, "image"), (labels, labels_meta, "labels")])
    with roicodec.open(tmp_path / "same.roi") as f:  # unchanged: the coded layers are kept, not coded again
        assert f.levels == 4 and np.array_equal(f.mask, masks)
        assert np.array_equal(f.decode(), roicodec.decode(data))
    edited = np.asarray(image[-1]).copy()
    edited[:, :10] = 0
    write_roi(str(tmp_path / "edited.roi"), [(edited, {"name": "edited", "rgb": False}, "image"),
                                              (labels, labels_meta, "labels")])
    with roicodec.open(tmp_path / "edited.roi") as f:
        assert f.planes == (5,) and np.array_equal(f.mask, masks)


def test_napari_viewer_opens_a_stack(stack, tmp_path, make_napari_viewer) -> None:
    _, masks, data = stack
    path = tmp_path / "stack.roi"
    path.write_bytes(data)
    viewer = make_napari_viewer()
    layers = viewer.open(path, plugin="roicodec")
    image, labels = layers
    assert image.data.shape == (4, 5, 256, 256) and labels.data.shape == (5, 256, 256)
    viewer.dims.set_point(0, 3)
    viewer.dims.set_point(1, 4)
    with roicodec.open(data) as f:
        shown = np.asarray(image.data[3, 4])
        assert np.array_equal(shown, f.decode(3, plane=4))

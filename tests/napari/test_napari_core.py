"""The plugin's Qt-free half: reader, writer, ROI sources, figures and sample data, on real files, no viewer."""

from __future__ import annotations

import gc
import json
import struct
import subprocess
import sys
import types
from dataclasses import asdict
from importlib.machinery import ModuleSpec
from pathlib import Path

import numpy as np
import pytest

import roicodec
from roicodec import options
from roicodec.errors import RoiError
from roicodec.napari import _roi
from roicodec.napari._evaluate import jpeg_points, level_points
from roicodec.napari._layers import roi_layers
from roicodec.napari._reader import get_reader, read_roi
from roicodec.napari._sample_data import CELL_PIXEL_UM, astronaut, cell
from roicodec.napari._writer import LayerNotSavedError, write_roi

QT_AND_NAPARI = ("PyQt5", "PyQt6", "PySide2", "PySide6", "qtpy", "napari", "magicgui", "npe2", "vispy", "superqt")


def imagej_roi() -> bytes:
    """An ImageJ rectangle ROI as ImageJ writes it: ``Iout``, version 228, type 1 (rectangle), box, 64-byte header."""
    return (b"Iout" + struct.pack(">hBxhhhhH", 228, 1, 10, 20, 60, 90, 0)).ljust(64, b"\0")


def image_tuple(image: np.ndarray, **meta: object) -> tuple[np.ndarray, dict, str]:
    return image, {"name": "crop", "scale": (1.0, 1.0), "translate": (0.0, 0.0), "rgb": image.ndim == 3,
                   "metadata": {}, **meta}, "image"


@pytest.mark.parametrize("content", [imagej_roi(), np.random.default_rng(0).bytes(300), b""],
                         ids=["imagej", "random", "empty"])
def test_reader_leaves_other_roi_files_to_other_readers(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.roi"
    path.write_bytes(content)
    assert get_reader(str(path)) is None


def test_reader_declines_folders_missing_files_and_mixed_lists(tmp_path: Path, small_file: bytes) -> None:
    (tmp_path / "dir.roi").mkdir()
    good = tmp_path / "good.roi"
    good.write_bytes(small_file)
    (tmp_path / "imagej.roi").write_bytes(imagej_roi())
    assert get_reader(str(tmp_path / "dir.roi")) is None
    assert get_reader(str(tmp_path / "missing.roi")) is None
    assert get_reader([str(good), str(tmp_path / "imagej.roi")]) is None
    assert get_reader([str(good), str(good)]) is read_roi


def test_read_gives_a_level_stack_the_mask_and_the_figures(tmp_path: Path, small: tuple, small_file: bytes,
                                                           small_levels: list[np.ndarray]) -> None:
    path = tmp_path / "crop.roi"
    path.write_bytes(small_file)
    (levels, image_meta, image_type), (mask, mask_meta, mask_type) = get_reader(str(path))(str(path))
    assert (image_type, mask_type) == ("image", "labels")
    np.testing.assert_array_equal(levels, np.stack(small_levels))
    np.testing.assert_array_equal(mask != 0, small[1])
    assert image_meta["name"] == "crop" and mask_meta["name"] == "crop ROI"
    assert image_meta["axis_labels"][0] == "level" and image_meta["rgb"]
    info = image_meta["metadata"]["roicodec"]
    with roicodec.open(small_file) as f:
        assert info["levels"] == [asdict(level) for level in f.level_info]
        assert info["qualities"] == list(f.qualities) and info["model"]["name"] == f.model[0]


def test_truncated_file_opens_on_what_it_holds(tmp_path: Path, small_file: bytes) -> None:
    info = roicodec.open(small_file).level_info
    path = tmp_path / "cut.roi"
    path.write_bytes(small_file[:info[1].bytes])
    (levels, _, _), _ = read_roi(str(path))
    assert levels.shape[0] == 2
    path.write_bytes(small_file[:info[0].bytes])
    assert [t for _, _, t in read_roi(str(path))] == ["image"]  # the mask is past the cut


def test_writer_keeps_mask_name_scale_and_translation(tmp_path: Path, small: tuple) -> None:
    image, mask = small
    path = tmp_path / "saved.roi"
    labels = (mask.astype(np.uint8) * 7, {"name": "roi"}, "labels")
    assert write_roi(str(path), [image_tuple(image, name="cells", scale=(0.5, 0.25), translate=(3.0, 4.0)),
                                 labels]) == [str(path)]
    (levels, meta, _), (roi, roi_meta, _) = read_roi(str(path))
    assert levels.shape[0] == 4 and meta["name"] == "cells"
    assert meta["scale"] == (1.0, 0.5, 0.25) and meta["translate"] == (0.0, 3.0, 4.0)
    assert roi_meta["scale"] == (0.5, 0.25)
    np.testing.assert_array_equal(roi != 0, mask)


def test_writer_without_labels_makes_the_whole_image_the_roi(tmp_path: Path, small: tuple) -> None:
    path = tmp_path / "whole.roi"
    write_roi(str(path), [image_tuple(small[0])])
    with roicodec.open(path) as f:
        assert f.mask.all()


def test_resaving_an_unchanged_layer_keeps_its_coded_layers(tmp_path: Path, small_file: bytes) -> None:
    original = tmp_path / "crop.roi"
    original.write_bytes(small_file)
    image, roi = read_roi(str(original))
    renamed = (image[0], {**image[1], "name": "renamed", "scale": (1.0, 2.0, 2.0)}, "image")
    for layers in ([renamed], [renamed, roi]):  # image alone keeps the file's ROI, not the whole image
        copy = tmp_path / "copy.roi"
        write_roi(str(copy), layers)
        with roicodec.open(copy) as f, roicodec.open(small_file) as g:
            assert f.metadata["name"] == "renamed" and f.metadata["scale"] == [2.0, 2.0]
            np.testing.assert_array_equal(f.mask, g.mask)
            # Nothing was coded again: only the description chunk differs.
            extra = len(copy.read_bytes()) - len(small_file)
            assert [i.bytes - extra for i in f.level_info] == [i.bytes for i in g.level_info]
            assert all(np.array_equal(a, b) for a, b in zip(f.decode_all(), g.decode_all()))


def test_resaving_with_a_new_roi_codes_again(tmp_path: Path, small_file: bytes) -> None:
    original = tmp_path / "crop.roi"
    original.write_bytes(small_file)
    image, roi = read_roi(str(original))
    new_mask = np.zeros_like(roi[0])
    new_mask[10:40, 10:50] = 1
    write_roi(str(tmp_path / "new.roi"), [image, (new_mask, roi[1], "labels")])
    with roicodec.open(tmp_path / "new.roi") as f:
        np.testing.assert_array_equal(f.mask, new_mask != 0)
        assert f.qualities == roicodec.open(small_file).qualities  # bytes: nothing to close


def test_resaving_keeps_the_files_colour_profile_whether_coded_again_or_not(tmp_path: Path, small: tuple) -> None:
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    image, mask = small
    original = tmp_path / "p.roi"
    roicodec.encode(image, mask, original, qualities=(75,), icc_profile=profile)
    layer, roi = read_roi(str(original))
    new_mask = np.zeros_like(roi[0])
    new_mask[10:40, 10:50] = 1
    for name, layers in (("same.roi", [layer]), ("new.roi", [layer, (new_mask, roi[1], "labels")])):
        write_roi(str(tmp_path / name), layers)
        with roicodec.open(tmp_path / name) as f:
            assert f.icc_profile == profile, name


def test_resaving_a_truncated_file_gives_a_whole_file_with_fewer_levels(tmp_path: Path, small_file: bytes) -> None:
    path = tmp_path / "cut.roi"
    path.write_bytes(small_file[:roicodec.open(small_file).level_info[2].bytes])
    write_roi(str(tmp_path / "whole.roi"), read_roi(str(path))[:1])
    with roicodec.open(tmp_path / "whole.roi") as f:
        assert f.levels == f.header.levels == 3 and f.layers == options.LADDERS[options.DEFAULT_LADDER][:2]


def test_writer_codes_uint16_natively_and_maps_other_depths_through_contrast_limits(tmp_path: Path) -> None:
    deep = np.linspace(0, 4000, 64 * 80).reshape(64, 80).astype(np.uint16)
    write_roi(str(tmp_path / "deep.roi"), [image_tuple(deep, contrast_limits=(0.0, 4000.0))])
    with roicodec.open(tmp_path / "deep.roi") as f:
        assert f.dtype == np.uint16 and np.array_equal(f.decode(), deep)  # no labels: all ROI, exact
        assert f.metadata["contrast_limits"] == [[0.0, 4000.0]]
    floats = deep.astype(np.float32)
    write_roi(str(tmp_path / "float.roi"), [image_tuple(floats, contrast_limits=(0.0, 4000.0))])
    top = roicodec.decode(tmp_path / "float.roi")
    assert top.dtype == np.uint8 and top[0, 0] < 5 and top[-1, -1] > 250
    with pytest.raises(LayerNotSavedError, match="2D images"):
        write_roi(str(tmp_path / "z.roi"), [image_tuple(np.zeros((80,), np.uint8), rgb=False)])
    with pytest.raises(LayerNotSavedError, match="drop the alpha"):
        write_roi(str(tmp_path / "rgba.roi"), [image_tuple(np.zeros((64, 80, 4), np.uint8))])
    with pytest.raises(LayerNotSavedError, match="at most one labels"):
        write_roi(str(tmp_path / "two.roi"), [image_tuple(deep), (deep, {}, "labels"), (deep, {}, "labels")])
    with pytest.raises(LayerNotSavedError, match="gray images of one shape"):  # two layers are channels: alike
        write_roi(str(tmp_path / "two.roi"), [image_tuple(deep), image_tuple(deep[:10])])


def test_labels_and_threshold_sources() -> None:
    labels = np.zeros((2, 20, 30), np.uint16)
    labels[1, 5:9, 3:7] = 4
    assert _roi.labels_mask(labels, (20, 30)).sum() == 16
    with pytest.raises(RoiError, match="do not match"):
        _roi.labels_mask(labels, (30, 20))
    image = np.full((40, 50), 30, np.uint8)
    image[10:20, 15:35] = 200
    mask = _roi.otsu_mask(np.stack([image] * 3, axis=-1), smoothing=1.0)
    assert mask[11:19, 16:34].all() and not mask[:8].any() and mask.sum() < 300
    with pytest.raises(RoiError, match="flat"):
        _roi.otsu_mask(np.zeros((10, 10), np.uint8))
    dark = _roi.grow(_roi.otsu_mask(255 - image, smoothing=0, invert=True), 1)  # the core's, not a copy
    assert dark[10:20, 15:35].all() and dark.sum() == 12 * 22 - 4


def test_semantic_source_is_offered_only_with_its_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("roicodec.segment")
    fake.__spec__ = ModuleSpec("roicodec.segment", None)
    monkeypatch.setitem(sys.modules, "roicodec.segment", fake)
    fake.missing_modules = list  # the extra is installed
    assert not _roi.semantic_available()
    fake.segment_roi = lambda image, model=None, grow=0: (image[..., 0] > 100, f"{model}, grown by {grow}")
    assert _roi.semantic_available()
    image = np.zeros((8, 9, 3), np.uint8)
    image[2:4, 3:6] = 255
    assert _roi.semantic_mask(image).sum() == 6
    assert _roi.semantic_roi(image, "nuclei", 2)[1] == "nuclei, grown by 2"  # the widget's options reach the core
    fake.missing_modules = lambda: ["mmseg"]
    assert not _roi.semantic_available()


def test_jpeg_points_fit_the_levels_budgets(small: tuple, small_file: bytes, small_levels: list) -> None:
    image, mask = small
    info = [asdict(level) for level in roicodec.open(small_file).level_info]
    levels = level_points(info, small_levels, image, mask)
    assert [p.setting for p in levels] == ["L0 (base)", *(f"L{k} ({t})" for k, t in
                                                          enumerate(options.LADDERS["default"], 1))]
    assert levels[3].roi_psnr > levels[1].roi_psnr > levels[0].roi_psnr
    import io

    from PIL import Image

    from roicodec.metrics import psnr

    def jpeg(quality: int) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(image).save(buf, "JPEG", quality=quality, optimize=True)
        return buf.getvalue()

    points = jpeg_points(image, mask, [p.bytes for p in levels])
    for point, level in zip(points, levels, strict=True):
        # The highest quality that fits the level's bytes (q1 when none does), scored on its own decoded pixels.
        quality = int(point.setting[1:])
        data = jpeg(quality)
        assert point.bytes == len(data) and (len(data) <= level.bytes or quality == 1)
        assert quality == 100 or len(jpeg(quality + 1)) > level.bytes
        decoded = np.asarray(Image.open(io.BytesIO(data)))
        assert (point.psnr, point.roi_psnr) == (psnr(image, decoded), psnr(image, decoded, mask))
    assert level_points(info, small_levels)[0].psnr is None


def test_sample_data_are_coded_roi_files_with_their_originals() -> None:
    for make, name, scale in ((astronaut, "astronaut", 1.0), (cell, "cell", CELL_PIXEL_UM)):
        (original, original_meta, _), (levels, meta, _), (mask, _, _) = make()
        assert meta["name"] == name and not original_meta["visible"]
        assert levels.shape[0] == 4 and levels.shape[1:] == original.shape and meta["scale"][1:] == (scale, scale)
        assert 0 < (mask != 0).mean() < 0.5
        assert meta["metadata"]["roicodec"]["levels"][-1]["bpp"] > 0


def test_cell_sample_ships_in_scikit_image_wheel() -> None:
    import skimage
    from skimage.data._fetchers import _fetch

    path = Path(_fetch("data/cell.png"))
    assert path.is_relative_to(Path(skimage.__file__).parent), "would need a download"


def test_plugin_core_and_pillow_plugin_work_without_qt_or_napari(tmp_path: Path, small_file: bytes) -> None:
    path = tmp_path / "crop.roi"
    path.write_bytes(small_file)
    code = f"""
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {QT_AND_NAPARI!r}:
            raise ImportError("not installed: " + name)
sys.meta_path.insert(0, Blocker())
from PIL import Image
import roicodec
from roicodec.napari import _evaluate, _layers, _reader, _roi, _sample_data, _writer
im = Image.open({str(path)!r})
im.seek(0)
im.load()
layers = _reader.read_roi({str(path)!r})
print(im.size, len(layers), [m for m in {QT_AND_NAPARI!r} if m in sys.modules])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "(120, 100) 2 []"


def test_stack_description_round_trip_and_files_from_before(tmp_path: Path, astronaut: np.ndarray) -> None:
    stack = np.ascontiguousarray(astronaut[:48, :64, 0][None].repeat(3, axis=0))
    path = tmp_path / "z.roi"
    # napari's default labels ("-3", "-2", "-1") are not worth keeping; the reader's own are better.
    write_roi(str(path), [image_tuple(stack, rgb=False, scale=(2.0, 0.1, 0.1), translate=(5.0, 1.0, 2.0),
                                      units=("nm", "um", "um"), axis_labels=("-3", "-2", "-1"))])
    with roicodec.open(path) as f:
        assert f.metadata["scale"] == [2.0, 0.1, 0.1] and "axis_labels" not in f.metadata
    (_, meta, _), (_, roi_meta, _) = read_roi(str(path))
    assert meta["scale"] == (1.0, 2.0, 0.1, 0.1) and meta["translate"] == (0.0, 5.0, 1.0, 2.0)
    assert meta["units"] == ("pixel", "nm", "um", "um") and meta["axis_labels"] == ("level", "plane", "y", "x")
    assert roi_meta["scale"] == (0.1, 0.1) and roi_meta["units"] == ("um", "um")

    # Files written before stacks kept Y and X alone; units napari cannot parse are dropped, not fatal.
    old = roicodec.redescribe(path.read_bytes(), {"scale": [0.5, 0.25], "units": ["bananas", "um"],
                                                  "axis_labels": ["z", "z", "x"]})
    (_, meta, _), _ = roi_layers(old, "file")
    assert meta["scale"] == (1.0, 1.0, 0.5, 0.25) and "units" not in meta
    assert meta["axis_labels"] == ("level", "plane", "y", "x")


def test_reading_decodes_nothing_and_keeps_no_file_bytes(tmp_path: Path, small_file: bytes, z_stack: Path,
                                                         decodes: list) -> None:
    path = tmp_path / "crop.roi"
    path.write_bytes(small_file)
    (levels, meta, _), _ = read_roi(str(path))
    (stack, stack_meta, _), _ = read_roi(str(z_stack))
    assert decodes == [] and levels.shape == (4, 100, 120, 3) and stack.shape == (4, 6, 48, 64)
    for m, p in ((meta, path), (stack_meta, z_stack)):
        info = m["metadata"]["roicodec"]
        json.dumps(m["metadata"])  # plain data: no bytes, no objects
        assert info["path"] == str(p) and len(info["levels"]) == 4 and "file" not in info

    shown = np.asarray(levels[2])
    assert decodes == [(2, None)]
    np.testing.assert_array_equal(shown, roicodec.decode(small_file, 2))
    decodes.clear()
    shown = np.asarray(stack[1, 4])
    assert decodes == [(1, (4,))]
    np.testing.assert_array_equal(shown, roicodec.decode(z_stack, 1, plane=4))


def test_lazy_levels_never_share_a_file_between_threads(z_stack: Path, decodes) -> None:
    (levels, _, _), _ = read_roi(str(z_stack))
    everything = levels.compute(scheduler="threads", num_workers=6)
    chunks = decodes.files
    assert len(chunks) == 4 * 6 and len({id(f) for f, _ in chunks}) == len(chunks)  # a RoiFile per chunk
    assert len({thread for _, thread in chunks}) > 1, "dask decoded on one thread: nothing was shown"
    with roicodec.open(z_stack) as f:
        np.testing.assert_array_equal(everything, np.stack(f.decode_all()))


def test_a_layer_reads_its_file_while_it_holds_the_same_coded_image(tmp_path: Path, small: tuple,
                                                                    small_file: bytes) -> None:
    path = tmp_path / "crop.roi"
    path.write_bytes(small_file)
    (levels, meta, _), _ = read_roi(str(path))
    top = roicodec.decode(small_file)
    # Saved over its own file with a new name, twice: new bytes and times, the same coded chunks, so it still reads.
    for name in ("renamed", "again"):
        write_roi(str(path), [(levels, {**meta, "name": name}, "image")])
        with roicodec.open(path) as f:
            assert f.metadata["name"] == name and f.level_info[-1].bytes > len(small_file)
        np.testing.assert_array_equal(levels[3], top)

    roicodec.encode(small[0][::-1].copy(), small[1], path)  # another image under the same name
    with pytest.raises(RoiError, match="has changed since it was opened: open it again"):
        np.asarray(levels[0])
    with pytest.raises(LayerNotSavedError, match="has changed since it was opened"):
        write_roi(str(tmp_path / "copy.roi"), [(levels, meta, "image")])
    path.unlink()
    with pytest.raises(RoiError, match="can no longer be read .* keep the file where it was"):
        np.asarray(levels[0])


def test_a_layer_coded_in_memory_resaves_from_its_bytes_while_it_holds_them(tmp_path: Path, small: tuple,
                                                                           small_file: bytes) -> None:
    (levels, meta, _), (roi, roi_meta, _) = roi_layers(small_file, "crop")
    assert meta["metadata"]["roicodec"]["path"] is None
    json.dumps(meta["metadata"])
    write_roi(str(tmp_path / "same.roi"), [(levels, meta, "image")])
    with roicodec.open(tmp_path / "same.roi") as f, roicodec.open(small_file) as g:
        extra = f.level_info[0].bytes - g.level_info[0].bytes  # the description chunk, and nothing coded again
        assert [i.bytes - extra for i in f.level_info] == [i.bytes for i in g.level_info]

    # Its data replaced by a copy, the lazy array and its bytes are gone: the ROI must come from the labels layer.
    copy = np.asarray(levels)
    del levels
    gc.collect()
    with pytest.raises(LayerNotSavedError, match="coded in memory.*select its ROI labels layer"):
        write_roi(str(tmp_path / "lost.roi"), [(copy, meta, "image")])
    write_roi(str(tmp_path / "coded.roi"), [(copy, meta, "image"), (roi, roi_meta, "labels")])
    with roicodec.open(tmp_path / "coded.roi") as f:
        np.testing.assert_array_equal(f.mask, small[1])
        assert f.layers == options.LADDERS[options.DEFAULT_LADDER] and f.metadata["name"] == "crop"


def test_a_czyx_uint16_file_reads_as_channels_and_saves_back(czyx, tmp_path: Path) -> None:
    path, image, mask = czyx
    (levels, meta, kind), (labels, labels_meta, _) = read_roi(str(path))
    assert kind == "image" and levels.dtype == np.uint16 and levels.shape == (2, *image.shape)
    assert meta["channel_axis"] == 1 and meta["name"] == ["DAPI", "GFP", "RFP"]
    assert meta["scale"] == (1.0, 2.0, 0.5, 0.5) and meta["units"] == ("pixel", "micrometer", "micrometer",
                                                                        "micrometer")
    assert meta["axis_labels"] == ("level", "z", "y", "x")
    with roicodec.open(path) as f:
        windows = [(float(m.low), float(m.high)) for m in f.mappings]
    assert meta["contrast_limits"] == windows and windows[0] < windows[2]  # from each channel's data
    assert labels.shape == mask.shape and np.array_equal(labels != 0, mask)  # one ROI for every channel
    assert labels_meta["scale"] == (2.0, 0.5, 0.5)
    # What napari makes of channel_axis, then what its writer hands back: one layer per channel.
    from napari.layers.utils.stack_utils import split_channels

    split = split_channels(levels, 1, **{k: v for k, v in meta.items() if k != "channel_axis"})
    assert [m["metadata"]["roicodec"]["dask_name"] for _, m, _ in split] == [d.name for d, _, _ in split]
    edited = [(d, {**m, "contrast_limits": (100.0, 3000.0 + i)}, t) for i, (d, m, t) in enumerate(split)]
    write_roi(str(tmp_path / "same.roi"), [edited[2], edited[0], edited[1], (labels, labels_meta, "labels")])
    with roicodec.open(tmp_path / "same.roi") as f, roicodec.open(path) as g:
        # Unchanged pixels and ROI: the file's coded image, under the layers' new description.
        assert f.layout.level_ends[0] == g.layout.level_ends[0] + len(f.metadata and b"") + (
            f.layout.chunks[0].length - g.layout.chunks[0].length)  # only the description grew: nothing recoded
        assert np.array_equal(f.decode(), g.decode()) and f.mappings == g.mappings
        assert f.metadata["channels"] == ["DAPI", "GFP", "RFP"]
        assert f.metadata["contrast_limits"] == [[100.0, 3000.0], [100.0, 3001.0], [100.0, 3002.0]]
        assert f.metadata["scale"] == [1.0, 2.0, 0.5, 0.5] and f.metadata["units"][1:] == ["micrometer"] * 3
    (levels2, meta2, _), _ = read_roi(str(tmp_path / "same.roi"))
    assert meta2["contrast_limits"] == [(100.0, 3000.0), (100.0, 3001.0), (100.0, 3002.0)]
    # New pixels (in memory, one layer per channel) are coded afresh, in uint16, as channels.
    fresh = [(np.asarray(d[-1]), {"name": n, "scale": (2.0, 0.5, 0.5), "units": ("micrometer",) * 3,
                                  "contrast_limits": (0.0, 5000.0)}, "image")
             for d, n in zip((s[0] for s in split), ("a", "b", "c"))]
    write_roi(str(tmp_path / "new.roi"), [*fresh, (labels, labels_meta, "labels")])
    with roicodec.open(tmp_path / "new.roi") as f:
        assert f.axes == "CZYX" and f.dtype == np.uint16 and f.metadata["channels"] == ["a", "b", "c"]
        roi = np.broadcast_to(mask, image.shape)
        assert np.array_equal(f.decode()[roi], image[roi])
        assert f.metadata["scale"] == [1.0, 2.0, 0.5, 0.5]

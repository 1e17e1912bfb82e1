"""The plugin in a real napari viewer (pytest-qt, Xvfb through pytest-xvfb): open, save, encode and inspect."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import warnings
from contextlib import suppress
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from magicgui.widgets import Container, Widget
from PIL import Image

import roicodec
from roicodec import cli
from roicodec.models import registry

WAIT_MS = 60_000  # the machine may be busy; a healthy run takes a second or two


def part(widget: Container, name: str) -> Widget:
    """The control called ``name`` anywhere inside a dock widget's nested containers."""
    for child in widget:
        if child.name == name:
            return child
        if isinstance(child, Container):
            with suppress(KeyError):
                return part(child, name)
    raise KeyError(name)


@pytest.fixture
def crop_roi(tmp_path: Path, small: tuple) -> Path:
    """A ``.roi`` written by the command line from PNG files, as a user would make one."""
    image, mask = small
    Image.fromarray(image).save(tmp_path / "crop.png")
    Image.fromarray(mask).save(tmp_path / "crop_roi.png")
    path = tmp_path / "crop.roi"
    assert cli.main(["encode", str(tmp_path / "crop.png"), "--mask", str(tmp_path / "crop_roi.png"),
                     "-o", str(path)]) == 0
    return path


def test_manifest_validates_and_its_commands_import() -> None:
    out = subprocess.run([str(Path(sys.executable).parent / "npe2"), "validate", "roicodec", "--imports"],
                         check=False, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_open_cli_written_file(make_napari_viewer, crop_roi: Path, small: tuple) -> None:
    viewer = make_napari_viewer()
    levels, roi = viewer.open(str(crop_roi), plugin="roicodec")
    with roicodec.open(crop_roi) as f:
        np.testing.assert_array_equal(levels.data, np.stack(f.decode_all()))
        assert levels.metadata["roicodec"]["levels"] == [asdict(level) for level in f.level_info]
    assert levels.data.shape == (4, 100, 120, 3) and levels.rgb and levels.name == "crop"
    np.testing.assert_array_equal(roi.data != 0, small[1])
    assert viewer.dims.axis_labels[0] == "level" and viewer.dims.nsteps[0] == 4


def test_save_image_and_labels_then_reopen(make_napari_viewer, tmp_path: Path, small: tuple) -> None:
    image, mask = small
    viewer = make_napari_viewer()
    viewer.add_image(image, name="cells", scale=(0.5, 0.25))
    viewer.add_labels(mask.astype(np.uint8) * 2, name="drawn ROI", scale=(0.5, 0.25))
    path = tmp_path / "saved.roi"
    assert viewer.layers.save(str(path), plugin="roicodec") == [str(path)]

    viewer.layers.clear()
    levels, roi = viewer.open(str(path), plugin="roicodec")
    assert levels.name == "cells" and levels.data.shape[0] == 4
    np.testing.assert_allclose(levels.scale, (1.0, 0.5, 0.25))
    np.testing.assert_array_equal(roi.data != 0, mask)

    # The reopened image alone, unchanged: saved from its own bytes, so the ROI and the pixels stay.
    viewer.layers.selection = {levels}
    again = tmp_path / "again.roi"
    viewer.layers.save(str(again), selected=True, plugin="roicodec")
    with roicodec.open(again) as f, roicodec.open(path) as g:
        np.testing.assert_array_equal(f.mask, g.mask)
        np.testing.assert_array_equal(f.decode(), g.decode())


def test_encode_widget_end_to_end(make_napari_viewer, qtbot, tmp_path: Path, small: tuple) -> None:
    image, mask = small
    viewer = make_napari_viewer()
    viewer.add_image(image, name="crop")
    viewer.add_labels(mask.astype(np.uint8), name="drawn ROI")
    _, widget = viewer.window.add_plugin_dock_widget("roicodec", "Encode with ROI")
    part(widget, "image").value = viewer.layers["crop"]
    part(widget, "roi_source").value = "Labels layer"
    part(widget, "labels_layer").value = viewer.layers["drawn ROI"]
    part(widget, "ladder").value = "60, 95"  # bare qualities: the paper's JPEG layers
    assert part(widget, "base_model").value == registry.DEFAULT
    part(widget, "base_model").value = "rd-q2"
    widget.encode()
    qtbot.waitUntil(lambda: widget.result is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: part(widget, "encode_button").enabled, timeout=WAIT_MS)

    levels, roi = viewer.layers["crop encoded"], viewer.layers["crop encoded ROI"]
    assert levels.data.shape == (3, 100, 120, 3)
    np.testing.assert_array_equal(roi.data != 0, mask)
    assert viewer.dims.current_step[0] == 2  # the top level shows
    table = part(widget, "table").data.to_list()
    assert [row[1] for row in table] == ["L0 (base)", "L1 (q60)", "L2 (q95)"]
    assert float(table[2][5]) > float(table[0][5])  # ROI-PSNR grows with the levels

    part(widget, "save_path").value = tmp_path / "out"
    widget.save()
    with roicodec.open(tmp_path / "out.roi") as f:
        assert f.qualities == (60, 95) and f.metadata["name"] == "crop" and f.model[0] == "rd-q2"
        np.testing.assert_array_equal(f.mask, mask)


def test_encode_widget_reports_bad_input_without_starting(make_napari_viewer, small: tuple) -> None:
    viewer = make_napari_viewer()
    viewer.add_image(small[0], name="crop")
    _, widget = viewer.window.add_plugin_dock_widget("roicodec", "Encode with ROI")
    part(widget, "roi_source").value = "Labels layer"
    widget.encode()
    assert "no labels layer" in part(widget, "status").value and widget.worker is None
    part(widget, "roi_source").value = "Whole image"
    part(widget, "ladder").value = "75,high"
    widget.encode()
    assert "'high' is unknown" in part(widget, "status").value and widget.worker is None


def test_roi_from_shapes_and_threshold(make_napari_viewer, small: tuple) -> None:
    image, _ = small
    viewer = make_napari_viewer()
    layer = viewer.add_image(image, name="crop", scale=(2.0, 2.0))
    # Drawn in world units, on a grid of its own: the rectangle covers image rows 10..30 and columns 20..50.
    viewer.add_shapes([np.array([[20, 40], [20, 100], [60, 100], [60, 40]])], shape_type="rectangle",
                      name="boxes")
    _, widget = viewer.window.add_plugin_dock_widget("roicodec", "Encode with ROI")
    part(widget, "shapes_layer").value = viewer.layers["boxes"]
    mask = widget.sources["Shapes layer"].prepare(image, layer)()
    rows, cols = np.nonzero(mask)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (10, 30, 20, 50)

    part(widget, "roi_source").value = "Threshold (Otsu)"
    # isHidden, not visible: the viewer is not on screen, so nothing in it counts as visible.
    assert not part(widget, "smoothing").native.isHidden() and part(widget, "shapes_layer").native.isHidden()
    from skimage.filters import gaussian, threshold_otsu

    luma = image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    for sigma in (3.5, 0.0):  # what the spin box says reaches the threshold, not the default
        part(widget, "smoothing").value = sigma
        mask = widget.sources["Threshold (Otsu)"].prepare(image, layer)()
        gray = gaussian(luma, sigma=sigma, preserve_range=True) if sigma else luma
        assert np.array_equal(mask, gray > threshold_otsu(gray)) and 0 < mask.mean() < 1, sigma
    assert "Semantic (Swin)" not in widget.sources or callable(widget.sources["Semantic (Swin)"].prepare)


def test_sample_and_inspect_widget(make_napari_viewer, qtbot) -> None:
    viewer = make_napari_viewer()
    viewer.open_sample("roicodec", "cell")
    assert [layer.name for layer in viewer.layers] == ["cell original", "cell", "cell ROI"]
    _, widget = viewer.window.add_plugin_dock_widget("roicodec", "Inspect .roi")
    assert part(widget, "roi_layer").value is viewer.layers["cell"]
    assert part(widget, "original").value is viewer.layers["cell original"]
    qtbot.waitUntil(lambda: part(widget, "table").shape[0] == 8, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not widget.worker.is_running, timeout=WAIT_MS)
    codecs = [row[0] for row in part(widget, "table").data.to_list()]
    assert codecs == ["roicodec"] * 4 + ["JPEG"] * 4
    labels = [line.get_label() for line in widget.figure.axes[0].lines]
    assert labels == ["roicodec PSNR", "roicodec ROI-PSNR", "JPEG PSNR", "JPEG ROI-PSNR"]

    part(widget, "original").value = None  # rates only, straight from the layer's metadata
    assert part(widget, "table").shape[0] == 4 and not part(widget, "table").data.to_list()[0][4]
    assert widget.figure.axes[0].get_xlabel() == "bits per pixel" and len(widget.figure.axes[0].lines) == 1

    part(widget, "original").value = viewer.add_image(np.zeros((5, 5), np.uint8), name="other")
    assert "not the size" in part(widget, "status").value and part(widget, "table").shape[0] == 4


def test_segment_widget_adds_class_map_and_roi(make_napari_viewer, qtbot, astronaut) -> None:
    viewer = make_napari_viewer()
    viewer.add_image(astronaut[:240, :320], name="photo")
    _, widget = viewer.window.add_plugin_dock_widget("roicodec", "Segment ROI (Swin)")
    part(widget, "image").value = viewer.layers["photo"]
    offered = list(part(widget, "model").choices)
    assert offered[0] == "auto" and {"swin-pico-salient", "swin-nano-nuclei", "swin-pico-camvid", "otsu"} <= set(offered)
    part(widget, "model").value = "swin-pico-camvid"
    part(widget, "classes").value = "Building, Pedestrian"
    widget.segment()
    qtbot.waitUntil(lambda: "photo ROI" in viewer.layers, timeout=WAIT_MS)
    classes, roi = viewer.layers["photo classes"], viewer.layers["photo ROI"]
    assert classes.data.shape == roi.data.shape == (240, 320) and roi.contour == 2
    assert classes.metadata["classes"][8] == "Car"
    names = classes.metadata["classes"]
    chosen = np.isin(classes.data, [names.index("Building"), names.index("Pedestrian")])
    np.testing.assert_array_equal(roi.data != 0, chosen)
    assert "model swin-pico-camvid (named); classes found" in part(widget, "status").value

    from roicodec.segment import grow, otsu_mask

    viewer.layers.remove("photo ROI")
    part(widget, "model").value = "otsu"
    part(widget, "invert").value, part(widget, "grow").value = True, 2
    widget.segment()
    qtbot.waitUntil(lambda: "photo ROI" in viewer.layers, timeout=WAIT_MS)
    expected = grow(otsu_mask(astronaut[:240, :320], invert=True), 2)
    np.testing.assert_array_equal(viewer.layers["photo ROI"].data != 0, expected)
    assert "Otsu threshold, dark objects" in part(widget, "status").value


def _menu_action(viewer, command: str):
    """The File menu's entry for ``command``, as a user clicks it."""
    action = viewer.window.file_menu.findAction(command)
    assert action is not None, command
    return action


def test_writer_refusal_reaches_the_user(make_napari_viewer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                         small_file: bytes) -> None:
    from napari.plugins import _npe2
    from napari.utils.notifications import NotificationSeverity, notification_manager
    from qtpy.QtWidgets import QFileDialog

    from roicodec.napari._writer import LayerNotSavedError

    viewer = make_napari_viewer()
    viewer.layers.selection = {viewer.add_image(np.zeros((64, 80, 4), np.uint8), rgb=True, name="rgba")}
    target = tmp_path / "kept.roi"
    target.write_bytes(small_file)
    expected = "layer 'rgba' has 4 colour channels: roicodec codes RGB; drop the alpha channel"

    # From Python (the script, napari's console): the reason itself, not napari's "not a valid writer".
    for options in ({"plugin": "roicodec"}, {}):
        with pytest.raises(LayerNotSavedError, match=expected), warnings.catch_warnings():
            warnings.simplefilter("error")  # napari's "not a valid writer" / "No data written" would be warnings
            viewer.layers.save(str(target), **options)

    # File > Save Selected Layers...: with roicodec's file type chosen, and with a type that names no writer (napari
    # then picks the writer from the extension). The refusal is an error notification, as napari shows any.
    ext_str, _ = _npe2.file_extensions_string_for_layers(list(viewer.layers.selection))
    roicodec_type = next(kind for kind in ext_str.split(";;") if kind.startswith("roicodec"))
    # PyQt reports an exception raised in a slot as the interpreter does, in sys.last_* (sys.last_exc too from Python
    # 3.12): with the notifications' tracebacks, that would keep the viewer alive past the test.
    for name in ("last_type", "last_value", "last_traceback", "last_exc"):
        monkeypatch.setattr(sys, name, None, raising=False)
    for chosen in (roicodec_type, "All files (*)"):
        monkeypatch.setattr(QFileDialog, "getSaveFileName",
                            lambda *args, chosen=chosen, **kwargs: (str(target), chosen))
        before = len(notification_manager.records)
        with notification_manager:
            _menu_action(viewer, "napari.window.file.save_layers_dialog.selected").trigger()
        shown = [(n.severity, n.message) for n in notification_manager.records[before:]]
        del notification_manager.records[before:]  # their tracebacks hold the viewer, which must not outlive the test
        sys.last_type = sys.last_value = sys.last_traceback = sys.last_exc = None
        assert shown == [(NotificationSeverity.ERROR, f"{target} not saved: {expected}")]
    assert target.read_bytes() == small_file


def test_a_z_stack_keeps_every_axis_through_writer_and_reader(make_napari_viewer, tmp_path: Path,
                                                             astronaut: np.ndarray) -> None:
    gray = np.asarray(Image.fromarray(astronaut).convert("L"))
    stack = np.stack([gray[i * 40:i * 40 + 48, i * 30:i * 30 + 64] for i in range(4)])
    viewer = make_napari_viewer()
    layer = viewer.add_image(stack, name="z-stack", scale=(2.0, 0.1, 0.1), translate=(5.0, 1.0, 2.0),
                             units=("nm", "um", "um"), axis_labels=("z", "y", "x"))
    rois = np.zeros(stack.shape, np.uint8)
    rois[:, 10:30, 20:50] = 1
    viewer.add_labels(rois, name="drawn", scale=layer.scale, translate=layer.translate)
    path = tmp_path / "z.roi"
    assert viewer.layers.save(str(path), plugin="roicodec") == [str(path)]
    with roicodec.open(path) as f:
        assert f.planes == (4,) and f.shape == (4, 48, 64)
        assert f.metadata["scale"] == [2.0, 0.1, 0.1] and f.metadata["translate"] == [5.0, 1.0, 2.0]
        assert f.metadata["units"] == ["nanometer", "micrometer", "micrometer"]
        assert f.metadata["axis_labels"] == ["z", "y", "x"]

    viewer.layers.clear()
    levels, roi = viewer.open(str(path), plugin="roicodec")
    assert levels.data.shape == (4, 4, 48, 64) and roi.data.shape == (4, 48, 64)
    np.testing.assert_allclose(levels.scale, (1.0, 2.0, 0.1, 0.1))
    np.testing.assert_allclose(levels.translate, (0.0, 5.0, 1.0, 2.0))
    assert [str(u) for u in levels.units] == ["pixel", "nanometer", "micrometer", "micrometer"]
    assert levels.axis_labels == ("level", "z", "y", "x") and viewer.dims.axis_labels == ("level", "z", "y", "x")
    np.testing.assert_allclose(roi.scale, (2.0, 0.1, 0.1))
    np.testing.assert_array_equal(roi.data, rois)
    np.testing.assert_array_equal(np.asarray(levels.data[-1]), roicodec.decode(path))

    # Saved again unchanged but rescaled: the level axis stays out of the file, the new scale goes in.
    levels.scale = (1.0, 3.0, 0.2, 0.2)
    viewer.layers.selection = {levels}
    again = tmp_path / "again.roi"
    viewer.layers.save(str(again), selected=True, plugin="roicodec")
    with roicodec.open(again) as f:
        assert f.metadata["scale"] == [3.0, 0.2, 0.2] and f.metadata["axis_labels"] == ["z", "y", "x"]
        np.testing.assert_array_equal(f.decode(), roicodec.decode(path))


def test_open_without_naming_the_plugin(make_napari_viewer, monkeypatch: pytest.MonkeyPatch,
                                        crop_roi: Path) -> None:
    from qtpy.QtWidgets import QFileDialog

    viewer = make_napari_viewer()
    # plugin=None: napari asks every reader, and roicodec is the one that claims .roi.
    assert [layer.name for layer in viewer.open(str(crop_roi), plugin=None)] == ["crop", "crop ROI"]
    viewer.layers.clear()
    # File > Open (drag and drop and `napari photo.roi` take the same path): no plugin to choose.
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *args, **kwargs: ([str(crop_roi)], ""))
    _menu_action(viewer, "napari.window.file.open_files_dialog").trigger()
    assert [layer.name for layer in viewer.layers] == ["crop", "crop ROI"]
    assert viewer.layers["crop"].data.shape == (4, 100, 120, 3)


@pytest.mark.parametrize("kind", ["image", "stack"])
def test_opening_decodes_only_what_napari_shows(make_napari_viewer, crop_roi: Path, z_stack: Path, kind: str,
                                                decodes) -> None:
    path = crop_roi if kind == "image" else z_stack
    viewer = make_napari_viewer()
    levels, _ = viewer.open(str(path), plugin="roicodec")
    assert levels.data.shape[0] == 4 and viewer.dims.nsteps[0] == 4  # the slider still offers every level
    json.dumps(levels.metadata)  # no file bytes in it, nor anything else but plain data

    def shown() -> tuple:
        step = viewer.dims.current_step
        return (step[0], None) if kind == "image" else (step[0], (step[1],))

    # napari slices a new layer where a new axis starts (0), then moves the slider to its middle: those two levels
    # (of one plane) are all that opening decodes, however often napari asks for them.
    seen = {(0, None) if kind == "image" else (0, (0,)), shown()}
    assert shown() in decodes and set(decodes) <= seen
    seen = set(decodes)
    moves = [(0, 0 if viewer.dims.current_step[0] == 3 else 3)] + ([(1, 5)] if kind == "stack" else [])
    for axis, step in moves:
        viewer.dims.set_current_step(axis, step)
        seen.add(shown())
        assert set(decodes) == seen


def test_inspect_shows_rates_without_decoding_and_measures_in_its_worker(make_napari_viewer, qtbot, crop_roi: Path,
                                                                          small: tuple, decodes) -> None:
    viewer = make_napari_viewer()
    viewer.open(str(crop_roi), plugin="roicodec")
    decodes.clear()
    _, widget = viewer.window.add_plugin_dock_widget("roicodec", "Inspect .roi")
    assert part(widget, "original").value is None and part(widget, "table").shape[0] == 4
    assert decodes == []  # bytes and bpp come from the layer's metadata

    viewer.add_image(small[0], name="crop original")  # picked up as the original: PSNR and JPEG
    qtbot.waitUntil(lambda: part(widget, "table").shape[0] == 8, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not widget.worker.is_running, timeout=WAIT_MS)
    measured = [(call, thread) for call, (_, thread) in zip(decodes, decodes.files, strict=True) if call[0] == "all"]
    assert [call for call, _ in measured] == [("all", 3, None)]  # every level in one pass...
    assert measured[0][1] != threading.get_ident()  # ...and not on the GUI thread
    table = part(widget, "table").data.to_list()
    assert float(table[3][5]) > float(table[0][5])


def test_a_czyx_uint16_file_opens_as_channels_and_saves_back(make_napari_viewer, czyx, tmp_path: Path) -> None:
    path, image, mask = czyx
    viewer = make_napari_viewer()
    layers = viewer.open(path, plugin="roicodec")
    *channels, labels = layers
    assert [layer.name for layer in channels] == ["DAPI", "GFP", "RFP"]
    assert all(layer.data.shape == (2, 5, 40, 48) and layer.data.dtype == np.uint16 for layer in channels)
    assert tuple(channels[1].scale) == (1.0, 2.0, 0.5, 0.5)
    assert [str(u) for u in channels[1].units[1:]] == ["micrometer"] * 3
    with roicodec.open(path) as f:
        assert [tuple(layer.contrast_limits) for layer in channels] == [(m.low, m.high) for m in f.mappings]
        assert np.array_equal(np.asarray(channels[2].data[1, 3]), f.decode(plane=(2, 3)))
    channels[0].contrast_limits = (200, 2500)
    out = tmp_path / "saved.roi"
    viewer.layers.selection = {*channels, labels}
    viewer.layers.save(str(out), selected=True, plugin="roicodec")
    with roicodec.open(out) as f, roicodec.open(path) as g:
        assert np.array_equal(f.decode(), g.decode()) and f.metadata["channels"] == ["DAPI", "GFP", "RFP"]
        assert f.metadata["contrast_limits"][0] == [200.0, 2500.0]
    reopened = viewer.open(out, plugin="roicodec")
    assert tuple(reopened[0].contrast_limits) == (200.0, 2500.0) and reopened[0].name.startswith("DAPI")

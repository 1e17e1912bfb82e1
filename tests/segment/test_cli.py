import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import roicodec
from roicodec.cli import main
from roicodec.segment import NUCLEI, SALIENT
from shared_data import DATA

from . import toy_weights


@pytest.fixture()
def frame_png(tmp_path, camvid_frame):
    path = tmp_path / "frame.png"
    Image.fromarray(camvid_frame[0]).save(path)
    return path


def _one_line_error(capsys, text: str) -> None:
    err = capsys.readouterr().err
    assert err.startswith("roicodec: error:") and err.count("\n") == 1 and text in err, err


def test_encode_with_the_street_scene_model(frame_png, camvid_frame, capsys) -> None:
    pytest.importorskip("mmseg")
    from roicodec.segment import segment_roi

    out = frame_png.with_suffix(".roi")
    assert main(["encode", str(frame_png), "--roi", "auto", "--roi-model", "camvid", "--qualities", "75"]) == 0
    assert "automatic ROI: model swin-pico-camvid (named)" in capsys.readouterr().out
    expected, _ = segment_roi(camvid_frame[0], "camvid")
    with roicodec.open(out) as f:
        assert np.array_equal(f.mask, expected) and 0 < f.mask.mean() < 0.5
    assert main(["encode", str(frame_png), "--roi", "auto", "--roi-model", "swin-pico-camvid", "--roi-classes",
                 "road,Car", "-o", str(out), "--qualities", "75"]) == 0
    with roicodec.open(out) as f:
        assert f.mask.sum() > expected.sum()


def test_automatic_roi_mistakes_are_one_line(frame_png, tmp_path, capsys) -> None:
    pytest.importorskip("mmseg")
    out = tmp_path / "x.roi"
    assert main(["encode", str(frame_png), "--roi", "auto", "--roi-model", "camvid", "--roi-classes", "Car,Truck",
                 "-o", str(out)]) == 1
    _one_line_error(capsys, "unknown class 'Truck'")
    assert main(["encode", str(frame_png), "--roi", "auto", "--mask", str(frame_png), "-o", str(out)]) == 1
    _one_line_error(capsys, "either --mask or --roi auto")
    assert main(["encode", str(frame_png), "--roi-classes", "Car", "-o", str(out)]) == 1
    _one_line_error(capsys, "go with --roi auto")
    assert main(["encode", str(frame_png), "--roi", "auto", "--roi-invert", "-o", str(out)]) == 1
    _one_line_error(capsys, "--roi-invert goes with --roi otsu")
    assert main(["encode", str(frame_png), "--roi-grow", "3", "-o", str(out)]) == 1
    _one_line_error(capsys, "--roi-grow goes with")
    assert main(["encode", str(frame_png), "--roi", "otsu", "--roi-model", "camvid", "-o", str(out)]) == 1
    _one_line_error(capsys, "go with --roi auto")
    assert main(["encode", str(frame_png), "--roi", "auto", "--roi-model", "nope", "-o", str(out)]) == 1
    _one_line_error(capsys, "unknown segmentation model")
    assert not out.exists()


CHILD = r"""
import sys
sys.modules["mmseg"] = None  # as if the segment extra were not installed
from roicodec.cli import main
status = main([sys.argv[1], "--roi", "auto", "-o", sys.argv[2]])
assert main([sys.argv[1], "-o", sys.argv[2]]) == 0, "everything else must keep working"
sys.exit(status)
"""


def test_without_the_extra_auto_roi_says_what_to_install(frame_png, tmp_path) -> None:
    out = tmp_path / "x.roi"
    child = CHILD.replace("main([sys.argv[1]", "main(['encode', sys.argv[1]")
    done = subprocess.run([sys.executable, "-c", child, str(frame_png), str(out)], capture_output=True, text=True)
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stderr.count("\n") == 1 and 'pip install "roicodec[segment]"' in done.stderr, done.stderr


@pytest.fixture()
def bbbc039_png() -> Path:
    return sorted((DATA / "bbbc039" / "images").glob("*.png"))[0]


def test_otsu_roi_on_a_16_bit_micrograph_with_invert_and_grow(bbbc039_png, tmp_path, capsys) -> None:
    pytest.importorskip("skimage")
    from roicodec.segment import grow, otsu_mask

    image = np.asarray(Image.open(bbbc039_png))
    out = tmp_path / "b.roi"
    for extra, expected, said in (([], otsu_mask(image), "bright objects"),
                                  (["--roi-invert"], ~otsu_mask(image), "dark objects"),
                                  (["--roi-grow", "3"], grow(otsu_mask(image), 3), "grown by 3 px")):
        assert main(["encode", str(bbbc039_png), "--roi", "otsu", *extra, "-o", str(out)]) == 0
        assert f"automatic ROI: Otsu threshold" in (text := capsys.readouterr().out) and said in text
        with roicodec.open(out) as f:
            assert np.array_equal(f.mask, expected)


def test_auto_roi_names_the_model_it_chose_or_says_it_is_missing(bbbc039_png, frame_png, monkeypatch, tmp_path,
                                                                 capsys) -> None:
    pytest.importorskip("mmseg")
    toy_weights.install(monkeypatch, tmp_path / "weights", {NUCLEI: 10.0})  # a nuclei model that marks everything
    out = tmp_path / "b.roi"
    assert main(["encode", str(bbbc039_png), "--roi", "auto", "--roi-grow", "2", "-o", str(out)]) == 0
    assert ("automatic ROI: model swin-nano-nuclei (microscopy: 16-bit gray pixels), grown by 2 px, 100.0% of the "
            "image") in capsys.readouterr().out
    assert main(["encode", str(frame_png), "--roi", "auto", "-o", str(out)]) == 1  # a photograph: not installed
    _one_line_error(capsys, f"segmentation model {SALIENT} is not installed")


def test_demo_takes_the_salient_model_or_says_why_not(monkeypatch, tmp_path, capsys) -> None:
    pytest.importorskip("mmseg")
    toy_weights.install(monkeypatch, tmp_path / "none", {})
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert f"the photograph model {SALIENT} is not installed" in out and "ROI drawn over the head" in out
    assert main(["demo", "--roi", "auto"]) == 1
    _one_line_error(capsys, f"{SALIENT} is not installed")
    toy_weights.install(monkeypatch, tmp_path / "toy", {SALIENT: 10.0})
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert f"automatic ROI (model {SALIENT}, photograph: 8-bit colour, not stain-like): 100%" in out
    rows = [line.split() for line in out.splitlines() if line.split() and line.split()[0].isdigit()]
    assert [r[0] for r in rows] == ["0", "1", "2", "3"]


def test_encode_many_segments_a_16_bit_micrograph_at_its_own_depth(bbbc039_png, monkeypatch, tmp_path) -> None:
    # As `encode --roi auto` does: the batch job used to convert to 8-bit RGB first, which clips a 16-bit micrograph.
    pytest.importorskip("mmseg")
    import shutil

    from roicodec import batch
    from roicodec.options import RoiModel
    from roicodec.segment import segment_roi

    toy_weights.install(monkeypatch, tmp_path / "weights", {NUCLEI: None})
    (tmp_path / "in").mkdir()
    shutil.copy(bbbc039_png, tmp_path / "in" / "cells.png")
    (task,) = batch.plan(tmp_path / "in", tmp_path / "out", segment=RoiModel())
    outcome = batch.encode_one(task)
    assert outcome.status == "encoded", outcome.message
    image = Image.open(bbbc039_png)
    expected, seg = segment_roi(np.asarray(image))
    clipped, _ = segment_roi(np.asarray(image.convert("RGB")))
    assert seg.model == NUCLEI and not np.array_equal(expected, clipped)
    with roicodec.open(task.output) as f:
        assert f.dtype == np.uint16 and np.array_equal(f.mask, expected)

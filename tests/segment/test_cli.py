import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import roicodec
from roicodec.cli import main


@pytest.fixture()
def frame_png(tmp_path, camvid_frame):
    path = tmp_path / "frame.png"
    Image.fromarray(camvid_frame[0]).save(path)
    return path


def _one_line_error(capsys, text: str) -> None:
    err = capsys.readouterr().err
    assert err.startswith("roicodec: error:") and err.count("\n") == 1 and text in err, err


def test_encode_with_automatic_roi(frame_png, camvid_frame, capsys) -> None:
    pytest.importorskip("mmseg")
    from roicodec.segment import segment_roi

    out = frame_png.with_suffix(".roi")
    assert main(["encode", str(frame_png), "--roi", "auto", "--qualities", "75"]) == 0
    assert "automatic ROI" in capsys.readouterr().out
    expected, _ = segment_roi(camvid_frame[0])
    with roicodec.open(out) as f:
        assert np.array_equal(f.mask, expected) and 0 < f.mask.mean() < 0.5
    assert main(["encode", str(frame_png), "--roi", "auto", "--roi-model", "swin-pico-camvid", "--roi-classes",
                 "road,Car", "-o", str(out), "--qualities", "75"]) == 0
    with roicodec.open(out) as f:
        assert f.mask.sum() > expected.sum()


def test_automatic_roi_mistakes_are_one_line(frame_png, tmp_path, capsys) -> None:
    pytest.importorskip("mmseg")
    out = tmp_path / "x.roi"
    assert main(["encode", str(frame_png), "--roi", "auto", "--roi-classes", "Car,Truck", "-o", str(out)]) == 1
    _one_line_error(capsys, "unknown class 'Truck'")
    assert main(["encode", str(frame_png), "--roi", "auto", "--mask", str(frame_png), "-o", str(out)]) == 1
    _one_line_error(capsys, "either --mask or --roi auto")
    assert main(["encode", str(frame_png), "--roi-classes", "Car", "-o", str(out)]) == 1
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

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import roicodec
from roicodec import options
from roicodec.cli import main
from roicodec.models import registry


@pytest.fixture()
def files(tmp_path, small):
    image, mask = small
    Image.fromarray(image).save(tmp_path / "img.png")
    Image.fromarray(mask).save(tmp_path / "mask.png")
    return tmp_path


def test_encode_decode_info(files, small, small_levels, capsys) -> None:
    assert main(["encode", str(files / "img.png"), "--mask", str(files / "mask.png"), "-o", str(files / "a.roi")]) == 0
    with roicodec.open(files / "a.roi") as f:
        assert np.array_equal(f.mask, small[1])
    assert main(["decode", str(files / "a.roi"), "--level", "1", "-o", str(files / "l1.png")]) == 0
    assert np.array_equal(np.asarray(Image.open(files / "l1.png")), small_levels[1])
    assert main(["decode", str(files / "a.roi"), "-o", str(files / "top.png")]) == 0
    assert np.array_equal(np.asarray(Image.open(files / "top.png")), small_levels[3])
    capsys.readouterr()
    assert main(["info", str(files / "a.roi"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["levels_in_file"] == 4 and info["layers"] == list(options.LADDERS[options.DEFAULT_LADDER])
    assert info["levels"][-1]["exact"] and not info["levels"][-2]["exact"]
    assert info["levels"][-1]["bytes"] == (files / "a.roi").stat().st_size
    assert main(["info", str(files / "a.roi")]) == 0
    assert registry.DEFAULT in capsys.readouterr().out


def test_default_output_and_qualities(files) -> None:
    assert main(["encode", str(files / "img.png"), "--qualities", "80,100"]) == 0
    with roicodec.open(files / "img.roi") as f:
        assert f.qualities == (80, 100) and f.mask.all()


def _fail(argv, capsys, *, message: str, absent=None) -> None:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("roicodec: error:") and err.count("\n") == 1 and message in err, err
    if absent is not None:
        assert not absent.exists()


def test_bad_input_is_one_line_and_leaves_no_file(files, small_file, capsys) -> None:
    out = files / "out.roi"
    _fail(["encode", str(files / "missing.png"), "-o", str(out)], capsys, message="missing.png", absent=out)
    Image.new("RGBA", (8, 8)).save(files / "rgba.png")
    _fail(["encode", str(files / "rgba.png"), "-o", str(out)], capsys, message="alpha", absent=out)
    Image.new("L", (5, 5)).save(files / "small_mask.png")
    _fail(["encode", str(files / "img.png"), "--mask", str(files / "small_mask.png"), "-o", str(out)], capsys,
          message="mask is 5x5", absent=out)

    png = files / "out.png"
    _fail(["decode", str(files / "img.png"), "-o", str(png)], capsys, message="not a roicodec .roi file", absent=png)
    (files / "trunc.roi").write_bytes(small_file[:30])
    _fail(["decode", str(files / "trunc.roi"), "-o", str(png)], capsys, message="truncated", absent=png)
    corrupt = bytearray(small_file)
    corrupt[-10] ^= 1
    (files / "corrupt.roi").write_bytes(bytes(corrupt))
    _fail(["decode", str(files / "corrupt.roi"), "-o", str(png)], capsys, message="damaged", absent=png)
    (files / "ok.roi").write_bytes(small_file)
    _fail(["decode", str(files / "ok.roi"), "--level", "9", "-o", str(png)], capsys, message="level 9", absent=png)
    _fail(["decode", str(files / "ok.roi"), "-o", str(files / "out.xyz")], capsys, message="format")
    _fail(["info", str(files / "nothing.roi")], capsys, message="nothing.roi")


def test_console_script_exit_status(files) -> None:
    proc = subprocess.run([sys.executable, "-m", "roicodec.cli", "decode", str(files / "img.png"), "-o",
                           str(files / "o.png")], capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr


def test_demo_prints_every_level(capsys, tmp_path) -> None:
    assert main(["demo", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in out if line.split() and line.split()[0].isdigit()]
    assert [r[0] for r in rows] == ["0", "1", "2", "3"]
    roi_psnr = [float(r[-1]) for r in rows]
    assert roi_psnr == sorted(roi_psnr) and roi_psnr[-1] >= 45
    with roicodec.open(tmp_path / "astronaut.roi") as f:
        assert f.levels == 4


def test_truncated_file_decodes_its_highest_level_and_says_so(files, small_file, small_levels, capsys) -> None:
    with roicodec.open(small_file) as f:
        end = f.level_info[1].bytes
    (files / "part.roi").write_bytes(small_file[:end + 7])
    assert main(["decode", str(files / "part.roi"), "-o", str(files / "part.png")]) == 0
    assert "level 1 of 0..1; the file is truncated, 4 levels" in capsys.readouterr().out
    assert np.array_equal(np.asarray(Image.open(files / "part.png")), small_levels[1])


def test_encode_many_and_resume(files, capsys) -> None:
    (files / "batch").mkdir()
    for i in range(3):
        Image.open(files / "img.png").rotate(90 * i).save(files / "batch" / f"{i}.png")
    argv = ["encode-many", str(files / "batch"), "-o", str(files / "out"), "--workers", "1", "--quiet"]
    assert main(argv) == 0
    assert "3 encoded, 0 already done, 0 failed" in capsys.readouterr().out
    assert main(argv) == 0
    assert "0 encoded, 3 already done, 0 failed" in capsys.readouterr().out
    (files / "batch" / "bad.png").write_bytes(b"not an image")
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "1 failed" in captured.out and "bad.png" in captured.err


def test_bench_is_handed_its_arguments(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--help"])
    assert exc.value.code == 0 and "--data" in capsys.readouterr().out


def test_demo_with_the_drawn_roi(capsys) -> None:
    # The automatic ROI (the default) is tested with the segmenters, in tests/segment/test_cli.py.
    assert main(["demo", "--roi", "drawn"]) == 0
    assert "ROI drawn over the head: 11% of the image" in capsys.readouterr().out


def test_npy_in_and_out_a_tile_at_a_time(files, small, small_file, small_levels, capsys) -> None:
    """.npy images and masks are read from disk, and .npy (and .tif, with tifffile) outputs written, tile by tile."""
    np.save(files / "img.npy", small[0])
    np.save(files / "mask.npy", small[1])
    assert main(["encode", str(files / "img.npy"), "--mask", str(files / "mask.npy"), "-o", str(files / "n.roi")]) == 0
    assert "wrote" in capsys.readouterr().out and (files / "n.roi").read_bytes() == small_file
    assert main(["decode", str(files / "n.roi"), "--level", "2", "-o", str(files / "l2.npy")]) == 0
    assert np.array_equal(np.load(files / "l2.npy"), small_levels[2])
    tifffile = pytest.importorskip("tifffile")
    assert main(["decode", str(files / "n.roi"), "-o", str(files / "top.tif")]) == 0
    assert np.array_equal(tifffile.imread(files / "top.tif"), small_levels[3])
    assert np.array_equal(np.asarray(Image.open(files / "top.tif")), small_levels[3])
    assert sorted(p.name for p in files.iterdir() if p.name.startswith(".")) == []


def test_npy_errors_are_one_line(files, capsys) -> None:
    (files / "bad.npy").write_bytes(b"\x93NUMPY garbage")
    _fail(["encode", str(files / "bad.npy"), "-o", str(files / "o.roi")], capsys, message="bad.npy",
          absent=files / "o.roi")
    np.save(files / "img.npy", np.zeros((4, 16, 16), np.uint8))
    _fail(["encode", str(files / "img.npy"), "--axes", "ZYX", "--roi", "auto", "-o", str(files / "o.roi")], capsys,
          message="not a stack", absent=files / "o.roi")

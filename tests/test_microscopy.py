"""Issue 19: 16-bit and multichannel images, with the ROI exact in native units, through the API, the CLI and
Pillow (napari: tests/napari). A (C=3, Z=5, Y, X) uint16 stack with channel names, physical sizes and units."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import roicodec
from roicodec import intensity

tifffile = pytest.importorskip("tifffile")

NAMES = ["DAPI", "GFP", "RFP"]
SCALE = [1.0, 2.0, 0.325, 0.325]
UNITS = ["pixel", "µm", "µm", "µm"]


@pytest.fixture(scope="module")
def stack() -> tuple[np.ndarray, np.ndarray]:
    """Three 12-bit channels of five Z planes: photon-noise background and brighter "nuclei", each channel at its own
    level; the ROI covers the nuclei of every channel, one mask per Z plane."""
    rng = np.random.default_rng(19)
    c, z, h, w = 3, 5, 48, 64
    image = rng.poisson(120 + 300 * np.arange(c)[:, None, None, None], (c, z, h, w))
    yy, xx = np.mgrid[:h, :w]
    mask = np.zeros((z, h, w), bool)
    for k in range(z):
        nucleus = (yy - 20 - k) ** 2 + (xx - 30) ** 2 < 120
        image[:, k][:, nucleus] += rng.poisson(2500, (c, int(nucleus.sum())))
        mask[k] = (yy - 20 - k) ** 2 + (xx - 30) ** 2 < 160
    return image.astype(np.uint16), mask


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "roicodec.cli", *args], cwd=cwd, capture_output=True, timeout=300,
                          text=True)


def test_a_czyx_stack_round_trips_through_the_api(stack) -> None:
    image, mask = stack
    data = roicodec.encode(image, mask, axes="CZYX", metadata={"channels": NAMES, "scale": SCALE, "units": UNITS})
    with roicodec.open(data) as f:
        assert f.header.version == (1, 2) and f.dtype == np.uint16 and f.mode == "I;16"
        assert f.shape == image.shape and f.axes == "CZYX" and f.layers == ("exact",)
        assert f.metadata["channels"] == NAMES and f.metadata["scale"] == SCALE and f.metadata["units"] == UNITS
        # One mapping per channel, each from its own data: the channels sit at different levels.
        lows = [m.low for m in f.mappings]
        assert len(f.mappings) == 3 and lows == sorted(lows) and lows[2] - lows[0] > 400
        base, top = f.decode_all()
        assert base.dtype == top.dtype == np.uint16
        assert np.array_equal(f.mask, np.broadcast_to(mask, image.shape))
        roi = np.broadcast_to(mask, image.shape)
        assert np.array_equal(top[roi], image[roi])  # exact in native units
        assert np.array_equal(top[~roi], base[~roi])  # outside, every level is the base, in uint16
        err = np.abs(base.astype(int) - image)[~roi]
        assert 10 * np.log10(float(image.max()) ** 2 / np.mean(err.astype(float) ** 2)) > 30
        assert np.array_equal(f.decode(plane=(2, 4)), top[2, 4])
        out = np.zeros(image.shape, np.uint16)
        assert f.decode(out=out) is out and np.array_equal(out, top)
        with pytest.raises(roicodec.RoiError, match="uint16"):
            f.decode(out=np.zeros(image.shape, np.uint8))


def test_channels_last_are_planes_and_come_first(stack) -> None:
    image, mask = stack
    last = np.moveaxis(image[:, 0], 0, -1)  # (Y, X, C), as some writers give it
    with pytest.raises(roicodec.UnsupportedImageError, match="axes='YXC'"):
        roicodec.encode(last)
    with roicodec.open(roicodec.encode(last, mask[0], axes="YXC")) as f:
        assert f.axes == "CYX" and f.shape == image[:, 0].shape
        assert np.array_equal(f.decode()[:, mask[0]], image[:, 0][:, mask[0]])


def test_near_lossless_and_lossy_levels_in_native_units(stack) -> None:
    image, mask = stack
    roi = np.broadcast_to(mask, image.shape)
    with roicodec.open(roicodec.encode(image, mask, axes="CZYX", ladder="avif:60,near:40")) as f:
        base, lossy, near = f.decode_all()
        assert f.level_info[2].max_error == 40
        assert 0 < np.abs(near.astype(int) - image)[roi].max() <= 40  # within a bound beyond 8 bits' 255 steps
        assert np.abs(lossy.astype(int) - image)[roi].mean() < np.abs(base.astype(int) - image)[roi].mean()
    with pytest.raises(roicodec.RoiError, match="jpeg layers code 8-bit"):
        roicodec.encode(image, mask, axes="CZYX", ladder="jpeg:90,exact")


def test_mappings_invert_in_integers() -> None:
    for m in (intensity.Mapping(100, 4095), intensity.Mapping(0, 65535, "linear"), intensity.Mapping(7, 8)):
        table = m.inverse_table()
        assert table[0] == m.low and table[255] == m.high and np.all(np.diff(table.astype(int)) >= 0)
        # Forward then back lands in the code's bin: within half a code's width of the original.
        x = np.arange(m.low, m.high + 1, max(1, (m.high - m.low) // 500), dtype=np.uint16)
        assert np.array_equal(m.forward(m.inverse(m.forward(x))), m.forward(x))
    given = intensity.Mapping(50, 3000, "linear")
    with roicodec.open(roicodec.encode(np.full((16, 16), 1000, np.uint16), mapping=given)) as f:
        assert f.mappings == (given,)
    with pytest.raises(roicodec.UnsupportedImageError, match="16-bit"):
        roicodec.encode(np.zeros((16, 16), np.uint8), mapping="sqrt")


def test_8bit_files_keep_their_version_and_bytes(astronaut) -> None:
    gray = astronaut[:64, :64, 1]
    data = roicodec.encode(gray, gray > 100)
    with roicodec.open(data) as f:
        assert f.header.version == (1, 1) and f.dtype == np.uint8 and f.mode == "L"
    # A 16-bit image whose values fit 8 bits is still a 16-bit file: its dtype is what the user gave.
    with roicodec.open(roicodec.encode(gray.astype(np.uint16), gray > 100)) as f:
        assert f.header.version == (1, 2) and f.decode().dtype == np.uint16


def test_pillow_opens_16_bit_gray_as_i16(tmp_path: Path, stack) -> None:
    image, mask = stack
    path = tmp_path / "one.roi"
    roicodec.encode(image[1, 2], mask[2], path)
    with Image.open(path) as im:
        assert im.mode == "I;16" and im.size == (64, 48)
        assert np.array_equal(np.asarray(im), roicodec.decode(path))
    Image.fromarray(image[0, 0]).save(tmp_path / "src.png")
    with Image.open(tmp_path / "src.png") as im:
        im.save(tmp_path / "saved.roi")
    assert np.array_equal(roicodec.decode(tmp_path / "saved.roi"), image[0, 0])  # no mask: all ROI, exact
    stack_path = tmp_path / "stack.roi"
    roicodec.encode(image, mask, stack_path, axes="CZYX")
    with Image.open(stack_path) as im:  # every channel of every Z is a plane: one gray frame per level
        assert im.n_frames == 15 * 2 and im.mode == "I;16"
        im.seek((1 * 5 + 3) * 2 + 1)
        assert np.array_equal(np.asarray(im), roicodec.decode(stack_path)[1, 3])


def test_the_cli_round_trips_an_ome_tiff(tmp_path: Path, stack) -> None:
    image, mask = stack
    tifffile.imwrite(tmp_path / "s.ome.tif", image, ome=True, photometric="minisblack", metadata={
        "axes": "CZYX", "Channel": {"Name": NAMES}, "PhysicalSizeX": 0.325, "PhysicalSizeXUnit": "µm",
        "PhysicalSizeY": 0.325, "PhysicalSizeYUnit": "µm", "PhysicalSizeZ": 2.0, "PhysicalSizeZUnit": "µm"})
    np.save(tmp_path / "mask.npy", mask)
    done = cli("encode", "s.ome.tif", "--mask", "mask.npy", "-o", "s.roi", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "15 planes of 64x48 (C=3, Z=5)" in done.stdout and "top level exact" in done.stdout
    info = cli("info", "s.roi", "--json", cwd=tmp_path)
    import json

    summary = json.loads(info.stdout)
    assert summary["dtype"] == "uint16" and summary["version"] == "1.2" and summary["axes"] == "CZYX"
    assert summary["channels"] == NAMES and summary["scale"] == SCALE and summary["units"] == UNITS
    assert len(summary["mappings"]) == 3
    assert cli("decode", "s.roi", "-o", "out.ome.tif", cwd=tmp_path).returncode == 0
    with tifffile.TiffFile(tmp_path / "out.ome.tif") as tif:
        out, xml = tif.series[0].asarray(), tif.ome_metadata
        assert tif.series[0].axes == "CZYX" and out.dtype == np.uint16
    roi = np.broadcast_to(mask, image.shape)
    assert np.array_equal(out[roi], image[roi])
    for text in ('Name="DAPI"', 'Name="RFP"', 'PhysicalSizeX="0.325"', 'PhysicalSizeZ="2.0"'):
        assert text in xml
    assert cli("decode", "s.roi", "--plane", "1,3", "-o", "p.png", cwd=tmp_path).returncode == 0
    with Image.open(tmp_path / "p.png") as im:
        assert im.mode == "I;16" and np.array_equal(np.asarray(im), out[1, 3])
    jpeg = cli("decode", "s.roi", "--plane", "0", "-o", "p.jpg", cwd=tmp_path)
    assert jpeg.returncode == 1 and "8 bits" in jpeg.stderr and not (tmp_path / "p.jpg").exists()
    npy = cli("encode", "mask.npy", "-o", "m.roi", cwd=tmp_path)  # a bool stack: told what to pass, in one line
    assert npy.returncode == 1 and npy.stderr.count("\n") == 1

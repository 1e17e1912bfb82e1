"""A colour profile travels with the image: from a PIL image, a JPEG, PNG or TIFF into the file, and out through
Pillow's ``info["icc_profile"]`` and the images ``roicodec decode`` writes (docs/format.md, ``ICCP``)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

import roicodec

pytestmark = pytest.mark.read_only  # these run in the plain install too (.ci/run)


@pytest.fixture(scope="module")
def profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.fixture(scope="module")
def photo(astronaut: np.ndarray, profile: bytes) -> Image.Image:
    im = Image.fromarray(astronaut[:80, :96])
    im.info["icc_profile"] = profile
    return im


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "roicodec.cli", *args], cwd=cwd, capture_output=True, timeout=300,
                          text=True)


def test_a_pil_images_profile_is_kept_and_given_back(photo: Image.Image, profile: bytes) -> None:
    data = roicodec.encode(photo, qualities=())
    with roicodec.open(data) as f:
        assert f.icc_profile == profile
    with Image.open(io.BytesIO(data)) as im:
        assert im.info["icc_profile"] == profile
        # Pillow's PNG writer takes the profile from info, as it does for any image Pillow opened.
        out = io.BytesIO()
        im.save(out, "PNG")
    with Image.open(out) as png:
        assert png.info["icc_profile"] == profile
    # The pixels are coded as they are: a profile changes no byte but its own chunk.
    plain = roicodec.encode(np.asarray(photo), qualities=())
    with roicodec.open(plain) as f:
        assert f.icc_profile is None
    assert len(data) - len(plain) == len(profile) + 12


def test_the_profile_can_be_given_dropped_or_refused(photo: Image.Image, profile: bytes) -> None:
    with roicodec.open(roicodec.encode(photo, qualities=(), icc_profile=b"")) as f:
        assert f.icc_profile is None
    with roicodec.open(roicodec.encode(np.asarray(photo), qualities=(), icc_profile=profile)) as f:
        assert f.icc_profile == profile
    with pytest.raises(roicodec.RoiError, match="not an ICC profile"):
        roicodec.encode(np.asarray(photo), qualities=(), icc_profile=b"sRGB")
    # One that an image carries but that is no profile is left out, not a reason to refuse the image.
    damaged = photo.copy()
    damaged.info["icc_profile"] = b"\0" * 40
    with roicodec.open(roicodec.encode(damaged, qualities=())) as f:
        assert f.icc_profile is None


def test_redescribing_keeps_the_profile(photo: Image.Image, profile: bytes) -> None:
    again = roicodec.redescribe(roicodec.encode(photo, qualities=()), {"name": "renamed"})
    with roicodec.open(again) as f:
        assert f.icc_profile == profile and f.metadata == {"name": "renamed"}


def test_pillow_saves_the_profile_of_the_image_or_the_one_it_is_given(photo: Image.Image, profile: bytes,
                                                                       tmp_path: Path) -> None:
    photo.save(tmp_path / "a.roi", qualities=())
    with roicodec.open(tmp_path / "a.roi") as f:
        assert f.icc_profile == profile
    photo.save(tmp_path / "b.roi", qualities=(), icc_profile=b"")
    with roicodec.open(tmp_path / "b.roi") as f:
        assert f.icc_profile is None


def test_the_command_line_carries_the_profile_from_its_input_to_its_outputs(photo: Image.Image, profile: bytes,
                                                                             tmp_path: Path) -> None:
    import tifffile

    photo.save(tmp_path / "p.jpg", quality=95, icc_profile=profile)
    tifffile.imwrite(tmp_path / "p.tif", np.asarray(photo), photometric="rgb",
                     extratags=[(34675, 7, len(profile), profile, True)])  # InterColorProfile
    for name in ("p.jpg", "p.tif"):
        assert cli("encode", name, "-o", "p.roi", cwd=tmp_path).returncode == 0
        info = cli("info", "p.roi", cwd=tmp_path)
        assert f"colour profile: sRGB built-in ({len(profile)} bytes)" in info.stdout
        for out in ("o.png", "o.jpg", "o.tif", "o.webp"):
            assert cli("decode", "p.roi", "-o", out, cwd=tmp_path).returncode == 0
            with Image.open(tmp_path / out) as im:
                assert im.info.get("icc_profile") == profile, (name, out)
        with tifffile.TiffFile(tmp_path / "o.tif") as tif:
            assert tif.pages.first.tags.valueof(34675) == profile


def test_encode_many_keeps_each_images_profile(photo: Image.Image, profile: bytes, tmp_path: Path) -> None:
    from roicodec import batch

    photo.save(tmp_path / "p.png")  # Pillow's PNG writer takes the profile from info
    outcome = batch.encode_one(batch.Task(tmp_path / "p.png", tmp_path / "out" / "p.roi", None))
    assert outcome.status == "encoded", outcome
    with roicodec.open(tmp_path / "out" / "p.roi") as f:
        assert f.icc_profile == profile


def test_a_profile_is_written_only_into_images_whose_colours_it_describes(photo: Image.Image, profile: bytes,
                                                                           tmp_path: Path) -> None:
    # Pillow's convert('L') keeps an RGB image's profile: the file keeps it too, but no gray image gets an RGB one.
    gray = photo.convert("L")
    assert gray.info["icc_profile"] == profile
    roicodec.encode(gray, None, tmp_path / "g.roi", qualities=())
    with roicodec.open(tmp_path / "g.roi") as f:
        assert f.icc_profile == profile
    with Image.open(tmp_path / "g.roi") as im:
        assert "icc_profile" not in im.info
    assert cli("decode", "g.roi", "-o", "g.png", cwd=tmp_path).returncode == 0
    with Image.open(tmp_path / "g.png") as im:
        assert "icc_profile" not in im.info
    made = bytearray(profile)  # Pillow makes no gray profile: one is marked so in its data colour space, byte 16
    made[16:20] = b"GRAY"
    roicodec.encode(np.asarray(gray), None, tmp_path / "g2.roi", qualities=(), icc_profile=bytes(made))
    with Image.open(tmp_path / "g2.roi") as im:
        assert im.info["icc_profile"] == bytes(made)


def test_a_damaged_profile_is_named_and_nothing_is_written(photo: Image.Image, profile: bytes, tmp_path: Path) -> None:
    data = bytearray(roicodec.encode(photo, qualities=()))
    data[data.index(b"ICCP") + 4 + 40] ^= 1  # inside the profile: its CRC-32 fails
    (tmp_path / "d.roi").write_bytes(bytes(data))
    result = cli("decode", "d.roi", "-o", "d.png", cwd=tmp_path)
    assert result.returncode == 1 and "colour profile chunk fails its CRC-32" in result.stderr
    assert "--level" not in result.stderr  # no lower level avoids it
    assert not (tmp_path / "d.png").exists()

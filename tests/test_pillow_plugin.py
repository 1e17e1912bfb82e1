import io
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image, ImageSequence

import roicodec
from roicodec.models import registry


@pytest.fixture()
def roi_path(tmp_path, small_file):
    path = tmp_path / "small.roi"
    path.write_bytes(small_file)
    return path


def run(code: str) -> str:
    """Run ``code`` in a fresh interpreter with the start-up hook off, so that only explicit registration counts."""
    env = dict(os.environ, ROICODEC_NO_PILLOW_HOOK="1")
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True,
                         env=env)
    return out.stdout.strip()


def test_open_reads_header_without_torch_or_pixels(roi_path) -> None:
    out = run(f"""
        import sys, roicodec
        from PIL import Image
        im = Image.open({str(roi_path)!r})
        print(im.format, im.size, im.mode, im.n_frames, im.tell(), "torch" in sys.modules)
    """)
    assert out == "ROI (120, 100) RGB 4 3 False"


def test_frames_are_levels(roi_path, small_levels) -> None:
    with Image.open(roi_path) as im:
        assert im.get_format_mimetype() == "image/x-roi"
        assert np.array_equal(np.asarray(im), small_levels[-1])  # opens on the top level
        for k in (0, 2, 1, 3):
            im.seek(k)
            assert im.tell() == k
            assert np.array_equal(np.asarray(im), small_levels[k])
        with pytest.raises(EOFError):
            im.seek(4)
        frames = [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(im)]
    assert all(np.array_equal(a, b) for a, b in zip(frames, small_levels))


def test_info_has_per_level_figures(roi_path, small_file) -> None:
    with Image.open(roi_path) as im:
        assert im.info["qualities"] == (75, 90, 100)
        assert im.info["model"][0] == registry.DEFAULT
        levels = im.info["levels"]
    assert [level["quality"] for level in levels] == [None, 75, 90, 100]
    assert levels[-1]["bytes"] == len(small_file)
    assert levels[0]["bpp"] == levels[0]["bytes"] * 8 / 12000


def test_save_with_mask_and_qualities(small, tmp_path) -> None:
    image, mask = small
    path = tmp_path / "saved.roi"
    Image.fromarray(image).save(path, mask=mask, qualities=(60, 95))  # format from the extension
    with roicodec.open(path) as f:
        assert f.qualities == (60, 95)
        assert np.array_equal(f.mask, mask)
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="ROI")
    assert roicodec.open(buf.getvalue()).mask.all()


def test_failed_save_removes_the_new_file(tmp_path) -> None:
    path = tmp_path / "bad.roi"
    with pytest.raises(ValueError, match="alpha"):
        Image.new("RGBA", (8, 8)).save(path)
    assert not path.exists()


def test_registered_extension_and_mime() -> None:
    assert Image.registered_extensions()[".roi"] == "ROI"
    assert Image.MIME["ROI"] == "image/x-roi"


def test_register_pillow_is_explicit_and_idempotent() -> None:
    out = run("""
        from PIL import Image
        Image.init()
        print("ROI" in Image.OPEN)
        from roicodec.pillow_plugin import register_pillow
        register_pillow(); register_pillow()
        print("ROI" in Image.OPEN)
    """)
    assert out.split() == ["False", "True"]


IMAGEJ_ROI = bytes.fromhex("496f757400e300010100") + bytes(54)  # "Iout", version 227, a rectangle


@pytest.mark.parametrize("content", [IMAGEJ_ROI, b"random bytes named x.roi" * 10])
def test_foreign_roi_files_fail_as_without_roicodec(tmp_path, content) -> None:
    path = tmp_path / "foreign.roi"
    path.write_bytes(content)
    probe = f"""
        from PIL import Image
        try:
            Image.open({str(path)!r})
        except Exception as exc:
            print(type(exc).__name__, exc)
    """
    without = run(probe)
    with_roicodec = run("import roicodec\n" + textwrap.dedent(probe))
    assert without.startswith("UnidentifiedImageError")
    assert with_roicodec == without

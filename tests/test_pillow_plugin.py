import io
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image, ImageSequence

import roicodec
from roicodec import options
from roicodec.models import registry

pytestmark = pytest.mark.read_only  # these run in the plain install too (.ci/run)


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
        assert im.info["layers"] == options.LADDERS[options.DEFAULT_LADDER]
        assert im.info["qualities"] == (50, 68, None)
        assert im.info["model"][0] == registry.DEFAULT
        levels = im.info["levels"]
    assert [level["quality"] for level in levels] == [None, 50, 68, None]
    assert [level["max_error"] for level in levels] == [None, None, None, 0]  # the top level is exact
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


def test_save_all_with_one_frame_saves_as_a_plain_save(small, tmp_path) -> None:
    image, mask = small
    plain, every = tmp_path / "plain.roi", tmp_path / "all.roi"
    Image.fromarray(image).save(plain, mask=mask)
    Image.fromarray(image).save(every, save_all=True, mask=mask)  # what generic programs pass for every format
    Image.fromarray(image).save(tmp_path / "empty.roi", save_all=True, append_images=[], mask=mask)
    assert every.read_bytes() == plain.read_bytes() == (tmp_path / "empty.roi").read_bytes()
    with Image.open(plain) as im:  # a .roi of one level is a single frame too
        im.save(tmp_path / "one.roi", qualities=())
    with Image.open(tmp_path / "one.roi") as im:
        assert im.n_frames == 1
        im.save(tmp_path / "again.roi", save_all=True, qualities=())
    with roicodec.open(tmp_path / "again.roi") as f:
        assert f.levels == 1


def test_save_all_refuses_several_frames_in_one_line(small, tmp_path, roi_path) -> None:
    image, _ = small
    tiff = tmp_path / "stack.tif"
    Image.fromarray(image).save(tiff, save_all=True, append_images=[Image.fromarray(image[::-1])] * 3)
    png = tmp_path / "plane.png"
    Image.fromarray(image).save(png)
    inputs = {path: path.read_bytes() for path in (tiff, png, roi_path)}
    with Image.open(tiff) as stack, Image.open(png) as plane, Image.open(roi_path) as levels:
        cases = [(stack, {}, 4), (plane, {"append_images": [plane.copy()]}, 2),
                 (plane, {"append_images": [stack]}, 5), (levels, {}, 4)]
        for im, options, frames in cases:
            target = tmp_path / "out.roi"
            with pytest.raises(ValueError) as refused:
                im.save(target, save_all=True, **options)
            message = str(refused.value)
            assert "\n" not in message and f"cannot save {frames} frames as one .roi" in message
            assert "roicodec.encode(array)" in message and "(Z, Y, X)" in message
            assert not target.exists()
    assert {path: path.read_bytes() for path in inputs} == inputs


def test_save_all_through_the_start_up_hook(tmp_path) -> None:
    # A program that never imports roicodec gets the save_all handler from the hook, not KeyError: 'ROI'.
    env = {k: v for k, v in os.environ.items() if k != "ROICODEC_NO_PILLOW_HOOK"}
    code = f"""
        import sys
        from PIL import Image
        Image.new("L", (64, 48), 90).save({str(tmp_path / "hook.roi")!r}, save_all=True)
        try:
            Image.new("L", (64, 48)).save({str(tmp_path / "two.roi")!r}, save_all=True,
                                          append_images=[Image.new("L", (64, 48))])
        except ValueError as exc:
            print(str(exc).split(":")[0])
    """
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True,
                         env=env).stdout.strip()
    assert out == "cannot save 2 frames as one .roi"
    with roicodec.open(tmp_path / "hook.roi") as f:
        assert f.size == (64, 48) and not (tmp_path / "two.roi").exists()


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


def test_a_file_the_plugin_refuses_goes_on_to_the_other_plugins(tmp_path, monkeypatch) -> None:
    """The plugin's "not mine" is NotRoiFileError, a SyntaxError, which is how a plugin tells Pillow to try the next
    one. Checked alone, past the signature check that normally spares the plugin foreign files: here it is asked
    first and about everything."""
    from roicodec.errors import NotRoiFileError
    from roicodec.pillow_plugin import RoiImageFile

    png = tmp_path / "x.png"
    Image.new("RGB", (4, 3), (1, 2, 3)).save(png)
    with pytest.raises(NotRoiFileError):
        RoiImageFile(png)
    Image.init()
    monkeypatch.setitem(Image.OPEN, "ROI", (RoiImageFile, lambda prefix: True))
    monkeypatch.setattr(Image, "ID", ["ROI", *(name for name in Image.ID if name != "ROI")])
    with Image.open(png) as im:
        assert im.format == "PNG" and im.getpixel((0, 0)) == (1, 2, 3)


def test_a_roi_file_is_never_saved_over_itself(tmp_path, small_file) -> None:
    """Pillow truncates a save's target before the plugin runs: the plugin's image refuses its own file first."""
    path = tmp_path / "p.roi"
    path.write_bytes(small_file)
    (tmp_path / "link.roi").symlink_to(path)
    for target in (path, tmp_path / "link.roi", str(tmp_path / "sub" / ".." / "p.roi")):
        (tmp_path / "sub").mkdir(exist_ok=True)
        with Image.open(path) as im, pytest.raises(roicodec.OutputError, match="opened from"):
            im.save(target)
    assert path.read_bytes() == small_file
    with Image.open(path) as im:
        im.save(tmp_path / "copy.png")  # any other target is a plain save
    assert (tmp_path / "copy.png").exists()


def test_files_of_every_shipped_base_model_open_and_load_through_pillow(tmp_path, small) -> None:
    # Issue 20's first line, for every model a file may name (the hp models borrow their transforms): in the plain
    # install this runs without torch (.ci/run); the pixels are the codec's own.
    image, mask = small
    for name in registry.available():
        path = tmp_path / f"{name}.roi"
        roicodec.encode(image, mask, path, model=name, ladder="avif:50")
        with Image.open(path) as im:
            im.load()
            assert im.info["model"][0] == name and im.n_frames == 2
            assert np.array_equal(np.asarray(im), roicodec.decode(path.read_bytes()))
    assert {"hp-q1", "rd-q1", "paper-ae"} <= set(registry.available())

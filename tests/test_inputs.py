"""Issue 14, bullet 2: inputs mean what they look like (shapes, TIFF stacks, masks with alpha, EXIF orientation,
more than 8 bits, qualities)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

import roicodec
from roicodec import inputs

tifffile = pytest.importorskip("tifffile")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "roicodec.cli", *args], cwd=cwd, capture_output=True, timeout=300)


@pytest.fixture(scope="module")
def gray(astronaut: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(astronaut[:96, :128]).convert("L"))


def test_one_channel_last_is_a_gray_image(gray: np.ndarray) -> None:
    with roicodec.open(roicodec.encode(gray[..., None], qualities=(90,))) as f:
        assert f.shape == gray.shape and f.planes == () and f.mode == "L"
        flat = roicodec.encode(gray, qualities=(90,))
    assert roicodec.encode(gray[..., None], qualities=(90,)) == flat


@pytest.mark.parametrize("channels", [2, 4, 5])
def test_an_ambiguous_last_axis_is_refused_with_the_way_to_pass_a_stack(gray: np.ndarray, channels: int) -> None:
    image = np.repeat(gray[..., None], channels, axis=2)
    with pytest.raises(roicodec.UnsupportedImageError, match="axes='ZYX'|axes="):
        roicodec.encode(image)
    with roicodec.open(roicodec.encode(image, axes="ZYX", qualities=())) as f:
        assert f.planes == (96,) and f.size == (channels, 128) and f.metadata["axes"] == "ZYX"


def test_axes_are_checked(gray: np.ndarray) -> None:
    for bad in ("YZX", "ZZX", "zyx", "YX", "ZYXS"):
        with pytest.raises(roicodec.UnsupportedImageError, match="axes"):
            roicodec.encode(np.stack([gray, gray]), axes=bad)
    rgb = np.repeat(gray[..., None], 3, axis=2)
    with roicodec.open(roicodec.encode(np.stack([rgb, rgb]), axes="TYXS", qualities=())) as f:
        assert f.planes == (2,) and f.mode == "RGB"
    with pytest.raises(roicodec.UnsupportedImageError, match="contradicts"):
        roicodec.encode(rgb, axes="YXS", rgb=False)


def test_a_multipage_tiff_is_a_stack_never_its_first_page(tmp_path: Path, gray: np.ndarray) -> None:
    pages = np.stack([np.roll(gray, 7 * i, axis=1) for i in range(4)])
    tifffile.imwrite(tmp_path / "z.tif", pages, photometric="minisblack", metadata={"axes": "ZYX"})
    frames = [Image.fromarray(p) for p in pages]
    frames[0].save(tmp_path / "pil.tif", save_all=True, append_images=frames[1:])  # pages without axes metadata
    for name in ("z.tif", "pil.tif"):
        result = cli("encode", name, "-o", "z.roi", "--qualities", "100", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        with roicodec.open(tmp_path / "z.roi") as f:
            assert f.planes == (4,)
            top = f.decode()
            assert all(np.abs(top[i].astype(int) - pages[i]).max() <= 8 for i in range(4))


def test_an_animation_is_refused_not_cut_to_its_first_frame(tmp_path: Path, gray: np.ndarray) -> None:
    frames = [Image.fromarray(np.roll(gray, 9 * i, axis=0)) for i in range(3)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    with Image.open(tmp_path / "a.gif") as im:
        assert im.n_frames == 3
    result = cli("encode", "a.gif", cwd=tmp_path)
    assert result.returncode == 1 and b"3 frames" in result.stderr and not (tmp_path / "a.roi").exists()


def test_an_opaque_rgba_mask_is_read_from_its_colours(gray: np.ndarray) -> None:
    drawn = np.zeros((*gray.shape, 4), np.uint8)
    drawn[..., 3] = 255  # fully opaque, as image editors save a layer
    drawn[20:40, 30:70, :3] = 255
    drawn[25:30, 35:40, 3] = 0  # alpha 0 takes pixels away, whatever their colour
    want = np.zeros(gray.shape, bool)
    want[20:40, 30:70] = True
    want[25:30, 35:40] = False
    for mask in (drawn, Image.fromarray(drawn), Image.fromarray(drawn).convert("LA")):
        with roicodec.open(roicodec.encode(gray, mask, qualities=(90,))) as f:
            assert np.array_equal(f.mask, want)


def test_exif_orientation_is_applied(tmp_path: Path, astronaut: np.ndarray) -> None:
    image = Image.fromarray(astronaut[:64, :96])
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display", as a phone held upright writes it
    image.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    with Image.open(tmp_path / "phone.jpg") as im:
        upright = np.asarray(ImageOps.exif_transpose(im))
    assert upright.shape == (96, 64, 3)
    assert np.array_equal(np.asarray(inputs.read(tmp_path / "phone.jpg").pixels), upright)
    assert cli("encode", "phone.jpg", cwd=tmp_path).returncode == 0
    with roicodec.open(tmp_path / "phone.roi") as f:
        assert f.size == (64, 96)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_tiff_orientation_matches_pillows_exif_transpose(tmp_path: Path, orientation: int) -> None:
    pages = np.arange(2 * 3 * 5, dtype=np.uint8).reshape(2, 3, 5) * 8
    tifffile.imwrite(tmp_path / "o.tif", pages, photometric="minisblack", extratags=[(274, 3, 1, orientation, True)])
    ref = Image.fromarray(pages[1])
    exif = ref.getexif()
    exif[0x0112] = orientation
    ref.save(tmp_path / "o.png", exif=exif)
    with Image.open(tmp_path / "o.png") as im:
        want = np.asarray(ImageOps.exif_transpose(im))
    assert np.array_equal(inputs.read(tmp_path / "o.tif").pixels[1], want)


def test_sixteen_bit_is_coded_in_its_own_units_or_through_a_window(tmp_path: Path, gray: np.ndarray) -> None:
    deep = gray.astype(np.uint16) * 16 + 100  # 12-bit data in a 16-bit container, as microscopes write it
    Image.fromarray(deep).save(tmp_path / "d.png")
    with Image.open(tmp_path / "d.png") as im:
        assert im.mode == "I;16"
    native = cli("encode", "d.png", "-o", "n.roi", cwd=tmp_path)
    assert native.returncode == 0, native.stderr
    with roicodec.open(tmp_path / "n.roi") as f:
        assert f.dtype == np.uint16 and f.mode == "I;16" and f.header.version == (1, 2)
        assert np.array_equal(f.decode(), deep)  # no mask: the whole image is the ROI, exact
    # The 8-bit view stays for who wants one (Pillow's convert('L') would have made the image all white).
    assert cli("encode", "d.png", "--window", "100,4180", "--qualities", "100", cwd=tmp_path).returncode == 0
    with roicodec.open(tmp_path / "d.roi") as f:
        assert f.metadata["window"] == [100.0, 4180.0]
        assert np.abs(f.decode().astype(int) - gray).max() <= 6
    with Image.open(tmp_path / "d.png") as im, roicodec.open(roicodec.encode(im, window="auto", qualities=())) as f:
        low, high = f.metadata["window"]
        assert (low, high) == tuple(np.percentile(deep, roicodec.codec.WINDOW_PERCENTILES))
    with pytest.raises(roicodec.UnsupportedImageError, match="window"):
        roicodec.encode(deep, window=(5, 5))


def test_qualities_must_increase(tmp_path: Path, gray: np.ndarray) -> None:
    for bad in ((90, 75), (75, 75, 75)):
        with pytest.raises(roicodec.RoiError, match="do not increase"):
            roicodec.encode(gray, qualities=bad)
    Image.fromarray(gray).save(tmp_path / "g.png")
    before = (tmp_path / "g.png").read_bytes()
    result = cli("encode", "g.png", "--qualities", "90,75", cwd=tmp_path)
    assert result.returncode == 1 and b"do not increase" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.png"] and (tmp_path / "g.png").read_bytes() == before


def test_la_image_is_told_to_drop_alpha_to_gray(gray: np.ndarray) -> None:
    with pytest.raises(roicodec.UnsupportedImageError, match=r"gray \(mode L"):
        roicodec.encode(Image.fromarray(gray).convert("LA"))


def _with_exif(png: bytes, orientation: int) -> bytes:
    """``png`` with an eXIf chunk before its image data (imagecodecs writes none, and Pillow cannot write 16-bit
    colour)."""
    import struct
    import zlib

    exif = Image.Exif()
    exif[0x0112] = orientation
    data = exif.tobytes()
    chunk = struct.pack(">I", len(data)) + b"eXIf" + data + struct.pack(">I", zlib.crc32(b"eXIf" + data))
    at = png.index(b"IDAT") - 4
    return png[:at] + chunk + png[at:]


@pytest.fixture(scope="module")
def rgb16(astronaut: np.ndarray) -> np.ndarray:
    """16-bit colour whose low byte is not the high byte's echo: narrowed to 8 bits, it is not the same image."""
    deep = astronaut[:48, :64].astype(np.uint16) * 257
    return deep ^ np.arange(deep.size, dtype=np.uint16).reshape(deep.shape) % 97


def test_colour_deeper_than_8_bits_is_read_at_its_own_depth(tmp_path: Path, rgb16: np.ndarray) -> None:
    # Pillow opens these as 8-bit RGB: coded from its pixels, the "exact" top level would have lost the low bits.
    imagecodecs = pytest.importorskip("imagecodecs")
    files = {"c.png": imagecodecs.png_encode(rgb16), "c.jp2": imagecodecs.jpeg2k_encode(rgb16, level=0,
                                                                                           codecformat="jp2"),
             "c12.jp2": imagecodecs.jpeg2k_encode(rgb16 >> 4, level=0, codecformat="jp2", bitspersample=12),
             "c10.avif": imagecodecs.avif_encode(rgb16 >> 6, level=100, bitspersample=10)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        with Image.open(tmp_path / name) as im:
            assert im.mode == "RGB" and np.asarray(im).dtype == np.uint8  # what Pillow alone gives
        pixels = inputs.read(tmp_path / name).pixels
        assert isinstance(pixels, np.ndarray) and pixels.dtype == np.uint16, name
    assert np.array_equal(inputs.read(tmp_path / "c.png").pixels, rgb16)
    assert np.array_equal(inputs.read(tmp_path / "c.jp2").pixels, rgb16)
    assert np.array_equal(inputs.read(tmp_path / "c12.jp2").pixels, rgb16 >> 4)
    assert inputs.read(tmp_path / "c10.avif").pixels.max() < 1024
    # Refused as any 16-bit RGB is, with the way through named for the command line too; coded exactly with it.
    refused = cli("encode", "c.png", cwd=tmp_path)
    assert refused.returncode == 1 and b"--axes YXC" in refused.stderr and not (tmp_path / "c.roi").exists()
    assert cli("encode", "c.png", "--axes", "YXC", cwd=tmp_path).returncode == 0
    with roicodec.open(tmp_path / "c.roi") as f:
        assert f.dtype == np.uint16 and np.array_equal(np.moveaxis(f.decode(), 0, -1), rgb16)
    # Turned upright by its EXIF orientation, as an 8-bit image is.
    (tmp_path / "turned.png").write_bytes(_with_exif(files["c.png"], 6))
    assert np.array_equal(inputs.read(tmp_path / "turned.png").pixels, rgb16.swapaxes(0, 1)[:, ::-1])


def test_colour_deeper_than_8_bits_that_only_pillow_reads_is_refused(tmp_path: Path, rgb16: np.ndarray) -> None:
    h, w = rgb16.shape[:2]
    (tmp_path / "c.ppm").write_bytes(b"P6\n%d %d\n65535\n" % (w, h) + rgb16.astype(">u2").tobytes())
    with pytest.raises(roicodec.UnsupportedImageError, match="more than 8 bits a sample"):
        inputs.read(tmp_path / "c.ppm")
    # 8-bit colour in the same formats is Pillow's, as before.
    Image.fromarray((rgb16 >> 8).astype(np.uint8)).save(tmp_path / "c8.ppm")
    Image.fromarray((rgb16 >> 8).astype(np.uint8)).save(tmp_path / "c8.jp2")
    for name in ("c8.ppm", "c8.jp2"):
        assert isinstance(inputs.read(tmp_path / name).pixels, Image.Image)


def test_a_tiff_is_read_as_the_picture_it_shows(tmp_path: Path, astronaut: np.ndarray) -> None:
    # Coded from its stored values, a palette TIFF would come back as a gray image of indices and a white-is-zero one
    # as its negative; Pillow reads each as the picture, and so does roicodec.
    photo = Image.fromarray(astronaut[:64, :96])
    photo.convert("P").save(tmp_path / "pal.tif")  # Pillow stores its colour map times 256
    photo.convert("1").save(tmp_path / "bw.tif")
    gray = np.asarray(photo.convert("L"))
    tifffile.imwrite(tmp_path / "mw.tif", 255 - gray, photometric="miniswhite")
    tifffile.imwrite(tmp_path / "mw16.tif", 65535 - gray.astype(np.uint16) * 257, photometric="miniswhite")
    indices = np.stack([np.asarray(photo.convert("P", palette=Image.Palette.ADAPTIVE, colors=16))] * 2)
    colours = np.zeros((3, 256), np.uint16)
    colours[:, :16] = np.arange(48).reshape(3, 16) * 5 * 257  # libtiff's convention: times 257
    tifffile.imwrite(tmp_path / "pals.tif", indices, photometric="palette", colormap=colours)
    with Image.open(tmp_path / "pal.tif") as im:
        assert np.array_equal(inputs.read(tmp_path / "pal.tif").pixels, np.asarray(im.convert("RGB")))
    with Image.open(tmp_path / "bw.tif") as im:
        assert np.array_equal(inputs.read(tmp_path / "bw.tif").pixels, np.asarray(im.convert("L")))
    assert np.array_equal(inputs.read(tmp_path / "mw.tif").pixels, gray)
    assert np.array_equal(inputs.read(tmp_path / "mw16.tif").pixels, gray.astype(np.uint16) * 257)
    stack = inputs.read(tmp_path / "pals.tif")
    assert stack.pixels.dtype == np.uint8 and stack.pixels.shape == (2, 64, 96, 3) and stack.axes.endswith("YXS")
    assert np.array_equal(stack.pixels, np.moveaxis(colours[:, indices] // 257, 0, -1))
    assert cli("encode", "pal.tif", cwd=tmp_path).returncode == 0
    with roicodec.open(tmp_path / "pal.roi") as f:
        assert f.mode == "RGB" and np.array_equal(f.decode(), inputs.read(tmp_path / "pal.tif").pixels)


def test_a_tiff_that_cannot_be_coded_is_refused_in_its_own_words(tmp_path: Path, astronaut: np.ndarray) -> None:
    Image.fromarray(astronaut[:32, :48]).convert("CMYK").save(tmp_path / "cmyk.tif")
    with tifffile.TiffWriter(tmp_path / "two.tif") as tif:
        tif.write(np.zeros((8, 8), np.uint8))
        tif.write(np.zeros((4, 4), np.uint8))
    for name, message in (("cmyk.tif", "cmyk.tif is CMYK"), ("two.tif", "two.tif holds 2 image series")):
        with pytest.raises(roicodec.UnsupportedImageError) as caught:
            inputs.read(tmp_path / name)
        assert str(caught.value).startswith(message)  # not wrapped in "is not a readable TIFF (...)"

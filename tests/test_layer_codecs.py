"""Format 1.1's enhancement layers: AVIF residuals, the exact top level and near-lossless levels (issue 16)."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

import roicodec
from roicodec import container, layer_codecs, options
from roicodec.container import Layer


@pytest.fixture(scope="module")
def shaped(astronaut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A crop across two 64-pixel tiles with a ROI that is not a box (an ellipse with a hole)."""
    image = np.ascontiguousarray(astronaut[20:140, 100:260])
    yy, xx = np.mgrid[:120, :160]
    mask = ((xx - 80) / 60.0) ** 2 + ((yy - 60) / 45.0) ** 2 <= 1
    mask[50:70, 70:90] = False
    return image, mask


def _levels(data: bytes) -> tuple[roicodec.RoiFile, list[np.ndarray]]:
    f = roicodec.open(data)
    return f, f.decode_all()


@pytest.mark.parametrize("gray", [False, True], ids=["rgb", "gray"])
def test_default_ladder_ends_exact_and_keeps_the_base_outside(shaped, gray: bool) -> None:
    image, mask = shaped
    if gray:
        image = np.ascontiguousarray(image[..., 1])
    f, levels = _levels(roicodec.encode(image, mask, tile=64))
    assert f.header.version == (1, 1) and f.layers == options.LADDERS["default"]
    assert [i.exact for i in f.level_info] == [False, False, False, True]
    assert f.level_info[-1].max_error == 0 and f"avif:{f.level_info[1].quality}" == f.layers[0]
    assert np.array_equal(levels[-1][mask], image[mask])
    for level in levels[1:]:
        assert np.array_equal(level[~mask], levels[0][~mask])


def test_exact_level_does_not_depend_on_the_base(shaped, monkeypatch) -> None:
    """Another machine may synthesise the base a grey level apart: the exact level must not notice."""
    image, mask = shaped
    data = roicodec.encode(image, mask, tile=64)
    from roicodec.models.base_model import BaseModel

    real = BaseModel.synthesise_tile

    def brighter(self, latent, tile, unneeded=None):
        return np.minimum(real(self, latent, tile, unneeded).astype(np.int16) + 1, 255).astype(np.uint8)

    before = roicodec.decode(data, 0)
    monkeypatch.setattr(BaseModel, "synthesise_tile", brighter)
    _, levels = _levels(data)
    assert not np.array_equal(levels[0], before)  # the base did move
    assert np.array_equal(levels[-1][mask], image[mask])  # the exact level did not, and its digest passed


def test_a_wrong_exact_level_is_an_error_never_pixels(shaped, monkeypatch) -> None:
    image, mask = shaped
    data = roicodec.encode(image, mask, tile=64)
    real = layer_codecs._decode_verified

    def off_by_one(payload, shape, max_error, *dtype):
        out = real(payload, shape, max_error, *dtype).copy()
        out[0, 0] ^= 1
        return out

    monkeypatch.setattr(layer_codecs, "_decode_verified", off_by_one)
    with pytest.raises(roicodec.CorruptFileError, match="SHA-256"):
        roicodec.decode(data)
    assert roicodec.decode(data, 2).shape == image.shape  # levels below are not checked, and decode


def test_a_damaged_digest_with_a_good_crc_is_refused(shaped) -> None:
    """CRC-32 catches transmission damage; the digest catches the rest (a writer's or a decoder's fault)."""
    image, mask = shaped
    data = bytearray(roicodec.encode(image, mask, tile=64))
    f = roicodec.open(bytes(data))
    top = [c for c in f.layout.chunks if c.type == container.LAYER][-1]
    end = top.offset + top.length
    data[end - 1] ^= 0xFF
    data[end:end + 4] = struct.pack(">I", zlib.crc32(container.LAYER + bytes(data[top.offset:end])))
    with pytest.raises(roicodec.CorruptFileError, match="SHA-256"):
        roicodec.decode(bytes(data))


@pytest.mark.parametrize("k", [1, 2, 4])
def test_near_lossless_holds_its_bound_on_every_roi_pixel(shaped, k: int) -> None:
    image, mask = shaped
    exact = roicodec.encode(image, mask, tile=64)
    data = roicodec.encode(image, mask, tile=64, max_error=k)
    f, levels = _levels(data)
    assert f.layers[-1] == f"near:{k}" and f.level_info[-1].max_error == k and not f.level_info[-1].exact
    err = np.abs(levels[-1].astype(int) - image)[mask]
    assert err.max() <= k and err.max() == k  # the bound is used, not wasted
    assert len(data) < len(exact)


def test_both_near_lossless_codecs_hold_the_bound(shaped) -> None:
    """The writer keeps the smaller of the two; each must hold the bound by itself."""
    image, _ = shaped
    box = np.ascontiguousarray(image[:64, :64])
    payloads = layer_codecs._near_payloads(box, 3)
    assert sorted(p[0] for p in payloads) == [layer_codecs.JXL_LOSSLESS, layer_codecs.JPEGLS]
    for payload in payloads:
        decoded = layer_codecs._decode_verified(payload, box.shape, 3)
        err = np.abs(decoded.astype(int) - box)
        assert err.max() <= 3 and err.max() == 3


def test_outside_pixels_are_filled_from_the_roi() -> None:
    box = np.arange(4 * 5 * 1, dtype=np.uint8).reshape(4, 5, 1) + 10
    roi = np.zeros((4, 5), bool)
    roi[1, 2] = roi[1, 4] = roi[3, 1] = True
    filled = layer_codecs.fill_outside(box, roi)
    assert np.array_equal(filled[roi], box[roi])
    assert filled[1, :, 0].tolist() == [box[1, 2, 0]] * 4 + [box[1, 4, 0]]
    assert np.array_equal(filled[0], filled[1]) and np.array_equal(filled[2], filled[1])  # rows without ROI


def test_a_stream_declaring_a_larger_image_is_refused_before_it_is_decoded(shaped) -> None:
    """Decompression bombs: every layer stream decodes into a buffer of its box's size."""
    import imagecodecs

    big = imagecodecs.jpegxl_encode(np.zeros((4000, 4000), np.uint8), lossless=True)
    with pytest.raises(roicodec.CorruptFileError, match="size"):
        layer_codecs._decode_verified(bytes([layer_codecs.JXL_LOSSLESS]) + bytes(big), (8, 8, 1), 0)
    avif = imagecodecs.avif_encode(np.zeros((2000, 2000), np.uint8), level=10)
    with pytest.raises(roicodec.CorruptFileError, match="size"):
        layer_codecs._unavif(bytes(avif), (8, 8, 1))


def test_unknown_kinds_and_codecs_are_refused_in_one_line() -> None:
    header = container.Header(8, 8, "L", (Layer("avif", 40), Layer("exact")), "m", bytes(8), 64)
    data = bytearray(header.pack())
    assert container.Header.unpack(bytes(data)) == header
    data[container._HEADER_FIXED.size + 1 + 1 + 8 + 1] = 9  # the first layer's kind: one a newer writer may use
    with pytest.raises(roicodec.UnsupportedVersionError, match="kind 9.*upgrade"):
        container.Header.unpack(bytes(data))
    with pytest.raises(roicodec.CorruptFileError, match="newer than this roicodec"):
        layer_codecs._decode_verified(b"\x07rest", (8, 8, 1), 0)


def test_ladders_that_cannot_work_get_one_line() -> None:
    for text, message in (("avif:40,exact,avif:70", "nothing can follow an exact"),
                          ("near:2,avif:70", "cannot follow a near-lossless"),
                          ("avif:70,avif:40,exact", "do not increase"),
                          ("webp:40", "unknown"), ("avif", "malformed"), ("exact:3", "malformed"),
                          ("avif:200", "1 to 100"), ("near:0", "1 to 255")):
        with pytest.raises(roicodec.RoiError, match=message):
            options.parse_ladder(text)
    with pytest.raises(roicodec.RoiError, match="max_error needs"):
        options.resolve_ladder("paper", None, 2)
    with pytest.raises(roicodec.RoiError, match="either ladder or qualities"):
        options.resolve_ladder("paper", (75,), None)
    assert options.resolve_ladder(None, None, 3)[-1] == Layer("near", 3)
    assert options.resolve_ladder(None, (75, 90), None) == (Layer("jpeg", 75), Layer("jpeg", 90))
    assert options.parse_ladder("60, 95") == (Layer("jpeg", 60), Layer("jpeg", 95))


def test_paper_ladder_writes_the_1_0_format(small) -> None:
    paper = roicodec.encode(*small, ladder="paper")
    assert paper == roicodec.encode(*small, qualities=(75, 90, 100))
    with roicodec.open(paper) as f:
        assert f.header.version == (1, 0) and f.qualities == (75, 90, 100) and not f.level_info[-1].exact


def test_exact_in_a_fresh_process_at_one_and_two_threads(tmp_path, shaped) -> None:
    image, mask = shaped
    path = tmp_path / "x.roi"
    roicodec.encode(image, mask, path, tile=64)
    np.save(tmp_path / "roi.npy", image[mask])
    for threads in (1, 2):
        code = (f"import torch, numpy as np, roicodec; torch.set_num_threads({threads}); "
                f"f = roicodec.open({str(path)!r}); top = f.decode(); "
                f"assert np.array_equal(top[f.mask], np.load({str(tmp_path / 'roi.npy')!r}))")
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr


def test_a_stack_is_exact_plane_by_plane(astronaut) -> None:
    gray = np.asarray(__import__("PIL.Image", fromlist=["Image"]).fromarray(astronaut).convert("L"))
    planes = np.stack([gray[i * 30:i * 30 + 80, i * 40:i * 40 + 96] for i in range(3)])
    masks = planes > 100
    masks[1] = False  # a plane without ROI
    with roicodec.open(roicodec.encode(planes, masks, tile=64)) as f:
        top = f.decode()
        for i in range(3):
            assert np.array_equal(top[i][masks[i]], planes[i][masks[i]])


def test_files_are_the_same_bytes_at_any_thread_count(shaped, monkeypatch) -> None:
    # JPEG XL runs on every core, and several tiles' layers are coded at once (layer_codecs.codec_threads): that
    # must buy speed alone, never other bytes, or files would differ between machines and between `roicodec encode`
    # and encode-many's one-thread workers. Tiles of 64 pixels: 6 of them, more than the workers.
    image, mask = shaped
    files: dict[str, set[bytes]] = {"default": set(), "exact": set(), "near:2": set()}
    for count in ("1", "2", "3", "8"):
        monkeypatch.setenv("ROICODEC_THREADS", count)
        assert layer_codecs.codec_threads() == int(count)
        for ladder, made in files.items():
            made.add(roicodec.encode(image, mask, ladder=ladder, tile=64))
    assert all(len(made) == 1 for made in files.values())

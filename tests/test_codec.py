import io

import numpy as np
import pytest
from PIL import Image

import roicodec
from roicodec import container
from roicodec.errors import CorruptFileError, RoiError, UnsupportedImageError
from roicodec.metrics import psnr

DOCUMENTED = (RoiError,)


def test_levels_refine_only_the_roi(small, small_levels) -> None:
    image, mask = small
    base = small_levels[0]
    assert len(small_levels) == 4
    scores = [psnr(image, level, mask) for level in small_levels]
    assert all(a < b for a, b in zip(scores, scores[1:])), scores
    for level in small_levels[1:]:
        assert np.array_equal(level[~mask], base[~mask])
    assert scores[-1] >= 45


def test_decode_defaults_to_top_level_and_matches_decode_all(small_file, small_levels) -> None:
    assert np.array_equal(roicodec.decode(small_file), small_levels[-1])
    for k, level in enumerate(small_levels):
        assert np.array_equal(roicodec.decode(small_file, k), level)


def test_encoding_is_deterministic(small, small_file) -> None:
    assert roicodec.encode(*small) == small_file


def test_file_object_path_and_bytes_agree(small, small_file, tmp_path) -> None:
    path = tmp_path / "x.roi"
    assert roicodec.encode(*small, path=path) == small_file
    assert path.read_bytes() == small_file
    with path.open("rb") as fp:
        f = roicodec.open(fp)
        assert np.array_equal(f.decode(1), roicodec.decode(path, 1))
        f.close()
        assert not fp.closed  # the caller's file stays the caller's


def test_level_info_counts_file_bytes(small_file) -> None:
    f = roicodec.open(small_file)
    info = f.level_info
    assert [i.level for i in info] == [0, 1, 2, 3]
    assert [i.quality for i in info] == [None, 75, 90, 100]
    assert info[-1].bytes == len(small_file)
    assert info[-1].bpp == len(small_file) * 8 / (120 * 100)
    for i in info:  # the prefix of i.bytes bytes holds exactly levels 0..i
        assert roicodec.open(small_file[:i.bytes]).levels == i.level + 1
    assert f.model[0] == "paper-ae" and len(f.model[1]) == 16


def test_mask_is_stored_losslessly(small, small_file) -> None:
    assert np.array_equal(roicodec.open(small_file).mask, small[1])


def test_no_mask_means_whole_image(small) -> None:
    image, _ = small
    f = roicodec.open(roicodec.encode(image))
    assert f.mask.all()
    assert psnr(image, f.decode()) >= 45


def test_pil_image_and_custom_qualities(small) -> None:
    image, mask = small
    f = roicodec.open(roicodec.encode(Image.fromarray(image), Image.fromarray(mask), qualities=[50, 95]))
    assert f.qualities == (50, 95) and f.levels == 3


def test_base_only_file(small) -> None:
    f = roicodec.open(roicodec.encode(small[0], qualities=()))
    assert f.levels == 1 and f.mask.all()
    assert f.decode().shape == small[0].shape


def test_grayscale(small) -> None:
    gray = np.asarray(Image.fromarray(small[0]).convert("L"))
    levels = roicodec.open(roicodec.encode(gray, small[1])).decode_all()
    assert all(level.shape == gray.shape and level.dtype == np.uint8 for level in levels)
    scores = [psnr(gray, level, small[1]) for level in levels]
    assert all(a < b for a, b in zip(scores, scores[1:])) and scores[-1] >= 45
    # The gray base is the luma of the RGB base, as Pillow computes it.
    rgb_base = roicodec.decode(roicodec.encode(np.repeat(gray[..., None], 3, 2), qualities=()))
    assert np.array_equal(levels[0], np.asarray(Image.fromarray(rgb_base).convert("L")))


@pytest.mark.parametrize("tile", [64, 96, 1024])
def test_tiles_leave_no_seams(astronaut, tile) -> None:
    """Tiled coding keeps the quality of untiled coding, and any tile size decodes what it encoded."""
    image = astronaut[:160, :176]
    data = roicodec.encode(image, qualities=(), tile=tile)
    untiled = roicodec.decode(roicodec.encode(image, qualities=(), tile=1024))
    assert roicodec.open(data).header.tile == tile
    assert psnr(image, roicodec.decode(data)) > psnr(image, untiled) - 0.05
    assert psnr(untiled, roicodec.decode(data)) > 40


def test_odd_sizes(astronaut) -> None:
    for h, w in [(1, 1), (17, 3), (33, 65)]:
        image = np.ascontiguousarray(astronaut[:h, :w])
        assert roicodec.decode(roicodec.encode(image)).shape == (h, w, 3)


@pytest.mark.parametrize("image, message", [
    (np.zeros((8, 8, 4), np.uint8), "8x8x4 looks like RGBA"),
    (np.zeros((1, 1, 1, 1, 1, 4, 4, 3), np.uint8), "at most 4 leading axes"),
    (np.zeros((8, 8), np.uint16), "dtype uint16"),
    (Image.new("RGBA", (8, 8)), "alpha"),
    (Image.new("I;16", (8, 8)), "8-bit"),
    (np.zeros((0, 8), np.uint8), "8x0 pixels"),
])
def test_unsupported_images_say_what_to_do(image, message) -> None:
    with pytest.raises(UnsupportedImageError, match=message):
        roicodec.encode(image)


def test_bad_masks_and_options(small) -> None:
    image, mask = small
    with pytest.raises(RoiError, match="mask is 12x10 but the image is 120x100"):
        roicodec.encode(image, np.ones((10, 12)))
    with pytest.raises(RoiError, match="no pixel"):
        roicodec.encode(image, np.zeros_like(mask))
    with pytest.raises(RoiError, match="qualities"):
        roicodec.encode(image, qualities=[0])
    with pytest.raises(RoiError, match="tile"):
        roicodec.encode(image, tile=20)


def test_failed_encode_leaves_existing_file(small, tmp_path) -> None:
    path = tmp_path / "keep.roi"
    path.write_bytes(b"old")
    with pytest.raises(RoiError):
        roicodec.encode(small[0], np.zeros(small[1].shape), path=path)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.roi"]


def test_damaged_layer_is_named(small_file) -> None:
    data = small_file
    layout = container.read_layout(io.BytesIO(data))
    damaged = bytearray(data)
    damaged[layout.chunks[-1].offset + 3] ^= 0xFF
    f = roicodec.open(bytes(damaged))
    assert np.array_equal(f.decode(2), roicodec.decode(data, 2))
    with pytest.raises(CorruptFileError, match="LAYR"):
        f.decode()


def test_decompression_bomb_limit_is_honoured(small_file, monkeypatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    f = roicodec.open(small_file)  # opening reads no pixels
    with pytest.raises(Image.DecompressionBombError, match="MAX_IMAGE_PIXELS"):
        f.decode()
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10000)
    with pytest.warns(Image.DecompressionBombWarning):
        f.decode(0)


def test_metadata_round_trip_and_cost(small, small_file) -> None:
    meta = {"name": "astronaut crop", "scale": [0.5, 0.25]}
    data = roicodec.encode(*small, metadata=meta)
    with roicodec.open(data) as f:
        assert f.metadata == meta
        info = f.level_info
        assert np.array_equal(f.decode(), roicodec.decode(small_file))
    extra = len(data) - len(small_file)
    assert extra > 12 and all(a.bytes - b.bytes == extra for a, b in zip(info, roicodec.open(small_file).level_info))
    assert roicodec.open(small_file).metadata == {}
    with pytest.raises(RoiError, match="JSON"):
        roicodec.encode(*small, metadata={"x": object()})


def test_redescribe_keeps_every_coded_byte(small_file) -> None:
    data = roicodec.redescribe(small_file, {"name": "renamed"})
    with roicodec.open(data) as f:
        assert f.metadata == {"name": "renamed"}
        assert np.array_equal(f.decode(), roicodec.decode(small_file))
    with roicodec.open(small_file) as f:
        end = f.level_info[1].bytes
    partial = roicodec.redescribe(small_file[:end + 3], None)
    with roicodec.open(partial) as f:
        assert f.levels == f.header.levels == 2 and f.metadata == {}
        assert np.array_equal(f.decode(), roicodec.decode(small_file, 1))


def test_layers_follow_the_tile_grid(astronaut) -> None:
    """With small tiles, an ROI across many tiles (and tiles without ROI) refines exactly as with one tile."""
    image = astronaut[100:260, 120:296]
    yy, xx = np.mgrid[:160, :176]
    mask = ((xx - 80) / 60.0) ** 2 + ((yy - 70) / 50.0) ** 2 <= 1
    with roicodec.open(roicodec.encode(image, mask, tile=64)) as f:
        assert f.header.tile == 64
        levels = f.decode_all()
    scores = [psnr(image, level, mask) for level in levels]
    assert all(a < b for a, b in zip(scores, scores[1:])) and scores[-1] >= 45
    for level in levels[1:]:
        assert np.array_equal(level[~mask], levels[0][~mask])


def test_tile_table_damage_is_refused() -> None:
    from roicodec import ladder

    table = ladder.pack_tiles([b"", b"\x01abc", b""])
    assert ladder.unpack_tiles(table, 3) == [b"", b"\x01abc", b""]
    for bad, count in [(table, 2), (table, 4), (table[:-1], 3), (table + b"x", 3)]:
        with pytest.raises(CorruptFileError):
            ladder.unpack_tiles(bad, count)

import io
import struct
from itertools import pairwise

import numpy as np
import pytest
from PIL import Image

import roicodec
from roicodec import options
from roicodec import container
from roicodec.errors import CorruptFileError, RoiError, UnsupportedImageError
from roicodec.metrics import psnr
from roicodec.models import registry

pytestmark = pytest.mark.read_only  # these run in the plain install too (.ci/run)

DOCUMENTED = (RoiError,)


def test_levels_refine_only_the_roi(small, small_levels) -> None:
    image, mask = small
    base = small_levels[0]
    assert len(small_levels) == 4
    scores = [psnr(image, level, mask) for level in small_levels]
    assert all(a < b for a, b in pairwise(scores)), scores
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
    assert roicodec.encode(*small, path=path) is None  # streamed to the file, not held in memory
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
    assert [i.layer for i in info] == ["base", *options.LADDERS[options.DEFAULT_LADDER]]
    assert [i.quality for i in info] == [None, *(int(t.split(":")[1]) for t in options.LADDERS["default"][:2]), None]
    assert info[-1].bytes == len(small_file)
    assert info[-1].bpp == len(small_file) * 8 / (120 * 100)
    for i in info:  # the prefix of i.bytes bytes holds exactly levels 0..i
        assert roicodec.open(small_file[:i.bytes]).levels == i.level + 1
    assert f.model[0] == registry.DEFAULT and len(f.model[1]) == 16


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
    assert all(a < b for a, b in pairwise(scores)) and scores[-1] >= 45
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
    (np.zeros((8, 8), np.int32), "dtype int32.*uint16"),
    (np.zeros((8, 8, 3), np.uint16), "16-bit RGB.*axes='YXC'"),
    (Image.new("RGBA", (8, 8)), "alpha"),
    (Image.new("F", (8, 8)), "floating-point.*window"),
    (np.zeros((0, 8), np.uint8), "8x0 pixels"),
])
def test_unsupported_images_say_what_to_do(image, message) -> None:
    with pytest.raises(UnsupportedImageError, match=message):
        roicodec.encode(image)


def test_bad_masks_and_options(small) -> None:
    image, mask = small
    with pytest.raises(RoiError, match="mask is 12x10 but the image is 120x100"):
        roicodec.encode(image, np.ones((10, 12)))
    # A mask drawn as a colour picture is as wide and high as the picture, not as its samples.
    with pytest.raises(RoiError, match="mask is 12x10 but the image is 120x100"):
        roicodec.encode(image, Image.new("RGB", (12, 10), "white"))
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
    assert all(a < b for a, b in pairwise(scores)) and scores[-1] >= 45
    for level in levels[1:]:
        assert np.array_equal(level[~mask], levels[0][~mask])


def test_tile_table_damage_is_refused() -> None:
    from roicodec import ladder

    table = ladder.pack_tiles([b"", b"\x01abc", b""])
    assert ladder.unpack_tiles(table, 3) == [b"", b"\x01abc", b""]
    for bad, count in [(table, 2), (table, 4), (table[:-1], 3), (table + b"x", 3)]:
        with pytest.raises(CorruptFileError):
            ladder.unpack_tiles(bad, count)


def _reference_layers(original: np.ndarray, level: np.ndarray, roi: np.ndarray, qualities) -> list[bytes]:
    """One tile's layer payloads, written from docs/format.md ("LAYR") alone, with none of ``roicodec.ladder``: the
    residual in floats, the box found here, the JPEG through Pillow directly."""
    if not roi.any():
        return [b""] * len(qualities)
    rows, cols = np.flatnonzero(roi.any(axis=1)), np.flatnonzero(roi.any(axis=0))
    box = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
    o, r_level, inside = original[box].astype(np.float64), level[box].astype(np.float64), roi[box][..., None]
    payloads = []
    for q in qualities:
        r = np.where(inside, o - r_level, 0)
        step = 1 if np.abs(r).max() <= 127 else 2
        code = np.clip(np.round(r / step) + 128, 0, 255).astype(np.uint8)  # numpy rounds half to even
        buf = io.BytesIO()
        Image.fromarray(code[..., 0] if code.shape[2] == 1 else code).save(
            buf, "JPEG", quality=q, subsampling=0 if q >= 90 else 2, optimize=True)
        decoded = np.asarray(Image.open(io.BytesIO(buf.getvalue()))).reshape(code.shape).astype(np.float64)
        r_level = np.where(inside, np.clip(r_level + (decoded - 128) * step, 0, 255), r_level)
        payloads.append(bytes([step]) + buf.getvalue())
    return payloads


def _reference_encode(image: np.ndarray, masks: np.ndarray | None, qualities=roicodec.DEFAULT_QUALITIES,
                      tile: int = 1024) -> bytes:
    """The encoder as it was before it streamed: every plane, mask and layer in memory, joined at the end. Kept to
    show that reading blocks and writing chunk by chunk changed no byte of the files; its layers are written from
    the format's description (:func:`_reference_layers`), so that they check the ladder's integer arithmetic too."""
    import zlib

    from roicodec import base, container
    from roicodec.models import registry

    gray = image.ndim == 2 or image.shape[-1] != 3
    stack = image[..., None] if gray else image
    h, w, c = stack.shape[-3:]
    masks = np.ones((1, h, w), bool) if masks is None else (masks != 0).reshape(-1, h, w)
    identity = registry.info()
    header = container.Header(w, h, "L" if gray else "RGB", tuple(qualities), identity.name, identity.hash, tile,
                              planes=stack.shape[:-3], mask_per_plane=len(masks) > 1)
    bases, layers = [], [[] for _ in qualities]
    for p, plane in enumerate(stack.reshape(-1, h, w, c)):
        data, base_layer = base.encode(plane, identity.name, tile)
        bases.append(data)
        tiles = [[] for _ in qualities]
        for i, (ys, xs, *_) in enumerate(base_layer.tiles):
            for k, payload in enumerate(_reference_layers(plane[ys, xs], base_layer.tile(i),
                                                          masks[p % len(masks)][ys, xs], qualities)):
                tiles[k].append(payload)
        for k, layer in enumerate(tiles):
            layers[k].append(b"".join(struct.pack(">I", len(t)) + t for t in layer))
    packed = []
    for m in masks:
        if not m.any():
            packed.append(bytes(16))
            continue
        rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
        ys, xs = slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)
        box = struct.pack(">IIII", xs.start, ys.start, xs.stop, ys.stop)
        packed.append(box if m[ys, xs].all() else box + zlib.compress(np.packbits(m[ys, xs], axis=1).tobytes(), 9))
    chunks = [container.chunk(container.HEADER, header.pack())]
    chunks += [container.chunk(container.BASE, b) for b in bases]
    if qualities:
        chunks += [container.chunk(container.MASK, m) for m in packed]
        chunks += [container.chunk(container.LAYER, payload) for layer in layers for payload in layer]
    return container.SIGNATURE + b"".join(chunks)


class _Blocks:
    """An array on disk that is only ever read a block at a time, recording the largest block it gave."""

    def __init__(self, array: np.ndarray) -> None:
        self._array, self.shape, self.dtype, self.largest = array, array.shape, array.dtype, 0

    def __getitem__(self, key):
        block = self._array[key]
        self.largest = max(self.largest, block.size)
        return block


@pytest.fixture(scope="module")
def streamed(astronaut, tmp_path_factory) -> dict:
    """A 200x290 RGB image with an irregular ROI, on disk as np.memmap, coded in 64-pixel tiles."""
    folder = tmp_path_factory.mktemp("streamed")
    image = np.ascontiguousarray(astronaut[50:250, 120:410])
    yy, xx = np.mgrid[:200, :290]
    mask = (((xx - 150) / 100.0) ** 2 + ((yy - 90) / 60.0) ** 2 <= 1) | ((xx + yy) % 37 == 0)
    disk = np.lib.format.open_memmap(folder / "image.npy", "w+", np.uint8, image.shape)
    disk[:] = image
    disk.flush()
    disk_mask = np.lib.format.open_memmap(folder / "mask.npy", "w+", bool, mask.shape)
    disk_mask[:] = mask
    disk_mask.flush()
    data = roicodec.encode(image, mask, tile=64)
    return {"folder": folder, "image": image, "mask": mask, "data": data,
            "disk": np.load(folder / "image.npy", mmap_mode="r"), "disk_mask": np.load(folder / "mask.npy", mmap_mode="r")}


def test_streaming_encoder_writes_the_bytes_it_always_wrote(small, small_file, streamed) -> None:
    # The paper's ladder, whose layers the reference writes from the format's description.
    assert roicodec.encode(*small, ladder="paper") == _reference_encode(*small)
    assert roicodec.encode(streamed["image"], streamed["mask"], tile=64, ladder="paper") == _reference_encode(
        streamed["image"], streamed["mask"], tile=64)


def test_stacks_and_gray_stream_to_the_same_bytes(astronaut, tmp_path) -> None:
    gray = np.asarray(Image.fromarray(astronaut).convert("L"))
    planes = np.stack([gray[:150, :170], gray[200:350, 100:270]])
    masks = np.zeros(planes.shape, bool)
    masks[0, 20:100, 30:160] = True
    masks[1] = np.random.default_rng(0).random(masks[1].shape) < 0.4
    disk = np.lib.format.open_memmap(tmp_path / "planes.npy", "w+", np.uint8, planes.shape)
    disk[:] = planes
    expected = _reference_encode(planes, masks, qualities=(80, 100), tile=64)
    assert roicodec.encode(disk, masks, tmp_path / "p.roi", qualities=(80, 100), tile=64) is None
    assert (tmp_path / "p.roi").read_bytes() == expected
    empty_plane = masks.copy()
    empty_plane[0] = False
    assert roicodec.encode(planes, empty_plane, qualities=(90,)) == _reference_encode(planes, empty_plane, (90,))


def test_encoding_from_memmap_or_path_gives_the_same_bytes(streamed, tmp_path) -> None:
    assert roicodec.encode(streamed["disk"], streamed["disk_mask"], tile=64) == streamed["data"]
    assert roicodec.encode(streamed["disk"], streamed["disk_mask"], tmp_path / "a.roi", tile=64) is None
    assert (tmp_path / "a.roi").read_bytes() == streamed["data"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.roi"]  # no scratch file left behind


def test_encoding_reads_the_source_a_block_at_a_time(streamed, monkeypatch) -> None:
    from roicodec import mask as roimask

    monkeypatch.setattr(roimask, "_BAND_BYTES", 5800)  # bands of 20 rows: the mask's deflate stream spans many
    image, mask = _Blocks(streamed["disk"]), _Blocks(streamed["disk_mask"])
    assert roicodec.encode(image, mask, tile=64) == streamed["data"]
    assert image.largest <= (64 + 2 * 64) ** 2 * 3  # a tile and its context, never the plane
    assert mask.largest <= 20 * 290  # a band of rows (or a tile), never the mask


def test_encoding_from_a_dask_array(streamed) -> None:
    da = pytest.importorskip("dask.array")
    image = da.from_array(streamed["disk"], chunks=(128, 128, 3))
    assert roicodec.encode(image, da.from_array(streamed["disk_mask"]), tile=64) == streamed["data"]


def test_decode_into_a_memmap_equals_decode(streamed, tmp_path) -> None:
    path = tmp_path / "s.roi"
    path.write_bytes(streamed["data"])
    with roicodec.open(path) as f:
        levels = f.decode_all()
        for level in (0, 3):
            out = np.lib.format.open_memmap(tmp_path / f"{level}.npy", "w+", np.uint8, f.shape)
            assert f.decode(level, out=out) is out
            out.flush()
            assert np.array_equal(np.load(tmp_path / f"{level}.npy"), levels[level])
    assert np.array_equal(roicodec.decode(streamed["data"], 2, out=np.zeros((200, 290, 3), np.uint8)), levels[2])


def test_decode_a_stack_plane_into_out(astronaut) -> None:
    gray = np.asarray(Image.fromarray(astronaut).convert("L"))
    planes = np.stack([gray[:80, :96], gray[100:180, 50:146], gray[200:280, :96]]).reshape(3, 1, 80, 96)
    with roicodec.open(roicodec.encode(planes, planes > 120, qualities=(90,))) as f:
        whole = f.decode()
        out = np.zeros(f.shape, np.uint8)
        assert np.array_equal(f.decode(out=out), whole)
        one = np.zeros((80, 96), np.uint8)
        assert np.array_equal(f.decode(1, (2, 0), out=one), whole[2, 0])


@pytest.mark.parametrize("out, message", [
    (np.zeros((100, 120), np.uint8), "out is 100x120 uint8 but this decodes to 100x120x3 uint8"),
    (np.zeros((100, 120, 3), np.float32), "out is 100x120x3 float32"),
    (np.zeros((99, 120, 3), np.uint8), "out is 99x120x3"),
    (np.broadcast_to(np.zeros(1, np.uint8), (100, 120, 3)), "read-only"),
])
def test_bad_out_is_refused_in_one_line(small_file, out, message) -> None:
    with pytest.raises(RoiError, match=message) as exc:
        roicodec.open(small_file).decode(out=out)
    assert "\n" not in str(exc.value)


def test_damage_is_found_before_out_is_written(small_file) -> None:
    damaged = bytearray(small_file)
    damaged[-10] ^= 0xFF  # inside the last layer's chunk
    out = np.zeros((100, 120, 3), np.uint8)
    with pytest.raises(CorruptFileError, match="CRC"):
        roicodec.decode(bytes(damaged), out=out)
    assert not out.any()


@pytest.mark.parametrize("top", ["exact", "near:2", "avif:68"])
def test_the_top_level_alone_skips_what_a_checked_layer_replaces(astronaut, top, monkeypatch) -> None:
    """``decode()`` of a checked top level runs no decoder block that lies wholly inside the ROI and decodes no
    layer below it, and gives the pixels ``decode_all`` gives; a residual top level still needs them all."""
    from roicodec import layer_codecs
    from roicodec.models import base_model

    mask = np.zeros(astronaut.shape[:2], bool)
    mask[:300, :300] = True  # holds the first of the 2 x 2 decoder blocks (256 x 256 pixels) of this 512 x 512 image
    data = roicodec.encode(astronaut, mask, ladder=["avif:40", top])
    with roicodec.open(data) as f:
        every = f.decode_all()[-1]
        blocks, unpacked = [], []
        real_synthesise, real_unpack = base_model._synthesise, layer_codecs.unpack

        def counting_synthesise(graph, *args, **kwargs):
            return real_synthesise(lambda x: blocks.append(x.shape) or graph(x), *args, **kwargs)

        def counting_unpack(layer, *args, **kwargs):
            unpacked.append(str(layer))
            return real_unpack(layer, *args, **kwargs)

        monkeypatch.setattr(base_model, "_synthesise", counting_synthesise)
        monkeypatch.setattr(layer_codecs, "unpack", counting_unpack)
        top_only = f.decode()
    assert np.array_equal(top_only, every)
    checked = top != "avif:68"
    assert len(blocks) == (3 if checked else 4)
    assert set(unpacked) == ({top} if checked else {"avif:40", top})

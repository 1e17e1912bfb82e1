import struct

import numpy as np
import pytest

from roicodec import mask
from roicodec.errors import CorruptFileError


@pytest.mark.parametrize("shape", [(1, 1), (7, 13), (64, 9), (100, 257)])
def test_round_trip_is_exact(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(sum(shape))
    m = rng.random(shape) < 0.3
    m.flat[0] = True
    assert np.array_equal(mask.unpack(mask.pack(m), *shape), m)


def test_rectangle_is_small_whatever_the_image_size() -> None:
    m = np.zeros((4096, 4096), bool)
    m[1000:3000, 500:3500] = True
    assert len(mask.pack(m)) == 16
    assert mask.bounding_box(m) == (slice(1000, 3000), slice(500, 3500))


def test_box_outside_image_is_refused() -> None:
    data = mask.pack(np.ones((10, 10), bool))
    with pytest.raises(CorruptFileError, match="outside"):
        mask.unpack(data, 5, 10)


def test_inflation_is_capped() -> None:
    import struct
    import zlib

    bomb = struct.pack(">IIII", 0, 0, 8, 1) + zlib.compress(bytes(1 << 20))
    with pytest.raises(CorruptFileError, match="wrong number"):
        mask.unpack(bomb, 1, 8)


def test_garbage_is_refused() -> None:
    with pytest.raises(CorruptFileError):
        mask.unpack(b"\0\0\0\0\0\0\0\0\0\0\0\1\0\0\0\1garbage", 4, 4)
    with pytest.raises(CorruptFileError):
        mask.unpack(b"short", 4, 4)


@pytest.mark.parametrize("band_bytes", [1, 5, 64, 1 << 22])
def test_packing_band_by_band_gives_one_deflate_stream(monkeypatch, band_bytes: int) -> None:
    import zlib

    rng = np.random.default_rng(band_bytes)
    m = np.zeros((90, 130), bool)
    m[7:80, 3:121] = rng.random((73, 118)) < 0.5
    monkeypatch.setattr(mask, "_BAND_BYTES", band_bytes)
    box = m[7:80, 3:121]
    expected = struct.pack(">IIII", 3, 7, 121, 80) + zlib.compress(np.packbits(box, axis=1).tobytes(), 9)
    assert mask.pack(m) == expected
    assert np.array_equal(mask.unpack(expected, 90, 130), m)


@pytest.mark.parametrize("band_bytes", [3, 1 << 22])
def test_reader_gives_any_region_in_any_order(monkeypatch, band_bytes: int) -> None:
    monkeypatch.setattr(mask, "_BAND_BYTES", band_bytes)
    rng = np.random.default_rng(7)
    m = np.zeros((70, 90), bool)
    m[5:66, 11:83] = rng.random((61, 72)) < 0.3
    reader = mask.Reader(mask.pack(m), 70, 90)
    # A walk down a tile grid, then steps back up and regions outside the box.
    walk = [(slice(y, min(y + 16, 70)), slice(x, min(x + 16, 90))) for y in range(0, 70, 16) for x in range(0, 90, 16)]
    walk += [(slice(30, 40), slice(0, 90)), (slice(0, 3), slice(0, 9)), (slice(60, 70), slice(85, 90)),
             (slice(9, 50), slice(12, 13)), (slice(0, 70), slice(0, 90))]
    for ys, xs in walk:
        assert np.array_equal(reader.region(ys, xs), m[ys, xs]), (ys, xs)


def test_reader_of_a_rectangle_and_of_an_empty_plane() -> None:
    m = np.zeros((40, 50), bool)
    m[10:20, 5:45] = True
    reader = mask.Reader(mask.pack(m), 40, 50)
    assert np.array_equal(reader.region(slice(0, 16), slice(32, 50)), m[0:16, 32:50])
    assert not mask.Reader(bytes(16), 40, 50).region(slice(0, 40), slice(0, 50)).any()


def test_damaged_bits_fail_before_any_region() -> None:
    import zlib

    short = struct.pack(">IIII", 0, 0, 16, 4) + zlib.compress(bytes(7))  # 8 bytes needed
    with pytest.raises(CorruptFileError, match="wrong number"):
        mask.Reader(short, 4, 16)


def test_a_16_bit_files_mask_may_be_jpeg_xl_and_reads_back_exactly() -> None:
    from scipy import ndimage

    rng = np.random.default_rng(3)
    seeds = np.zeros((120, 160), bool)
    seeds[rng.integers(0, 120, 40), rng.integers(0, 160, 40)] = True
    blobs = ndimage.binary_dilation(seeds, iterations=6)  # scattered rounded blobs, as nuclei are
    region = lambda ys, xs: blobs[ys, xs]  # noqa: E731
    extent = mask.scan(region, *blobs.shape)
    deep, plain = [], []
    mask.pack_into(region, extent, deep.append, deep=True)
    mask.pack_into(region, extent, plain.append)
    deep, plain = b"".join(deep), b"".join(plain)
    assert deep[16:18] == mask.JXL_SIGNATURE and len(deep) < len(plain)
    assert np.array_equal(mask.unpack(deep, *blobs.shape, deep=True), blobs)
    assert np.array_equal(mask.Reader(deep, *blobs.shape, deep=True).region(slice(30, 70), slice(5, 90)),
                          blobs[30:70, 5:90])
    with pytest.raises(CorruptFileError):  # an 8-bit file's mask is never JPEG XL
        mask.unpack(deep, *blobs.shape)
    with pytest.raises(CorruptFileError, match="JPEG XL"):
        mask.unpack(deep[:-20], *blobs.shape, deep=True)

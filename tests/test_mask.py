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

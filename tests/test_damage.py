"""Damage: every truncation and every changed byte of a dense sample gives a lower level or an allowed exception,
never wrong pixels and never a hang."""

import io

import numpy as np
import pytest
from fuzz.targets import ALLOWED

import roicodec
from roicodec import container
from roicodec.errors import RoiError

pytestmark = pytest.mark.read_only  # these run in the plain install too (.ci/run)


@pytest.fixture(scope="module")
def dense() -> tuple[bytes, list[np.ndarray]]:
    """A small file with every chunk type: levels, an irregular mask and metadata."""
    rng = np.random.default_rng(1)
    image = (rng.random((24, 40, 3)) * 60 + np.linspace(0, 180, 40)[None, :, None]).astype(np.uint8)
    mask = np.zeros((24, 40), bool)
    mask[4:20, 10:30] = True
    mask[8, 5] = True
    data = roicodec.encode(image, mask, metadata={"name": "dense"})
    return data, roicodec.open(data).decode_all()


def test_every_truncation_decodes_its_level_or_refuses(dense) -> None:
    data, levels = dense
    full = container.read_layout(io.BytesIO(data))
    reference = [container.read_payloads(io.BytesIO(data), full, k) for k in range(len(levels))]
    for n in range(len(data)):
        expected = sum(end <= n for end in full.level_ends)
        try:
            f = roicodec.open(data[:n])
        except RoiError:
            assert expected == 0, f"prefix of {n} bytes holds level {expected - 1} but was refused"
            continue
        assert f.levels == expected, n
        # Decoding is a function of the payloads read: the same payloads as the whole file's give the same pixels.
        top = container.read_payloads(io.BytesIO(data[:n]), f.layout, f.levels - 1)
        assert top == reference[f.levels - 1], f"prefix of {n} bytes reads other payloads"
        if n in full.level_ends or n % 61 == 0:
            for k, pixels in enumerate(f.decode_all()):
                assert np.array_equal(pixels, levels[k]), f"prefix of {n} bytes, level {k}: wrong pixels"
        with pytest.raises(RoiError):
            f.decode(f.levels)


@pytest.mark.parametrize("flip", [0x01, 0x80, 0xFF])
def test_every_changed_byte_is_caught_or_harmless(dense, flip) -> None:
    data, levels = dense
    caught = 0
    for i in range(len(data)):
        damaged = bytearray(data)
        damaged[i] ^= flip
        try:
            f = roicodec.open(bytes(damaged))
            decoded = f.decode_all()
            f.metadata
        except ALLOWED:
            caught += 1
            continue
        # Undetected damage may only shorten the file (a length that runs past the end), never change pixels.
        assert f.levels < len(levels), f"byte {i} ^ {flip:#x}: damage went unnoticed"
        for k, pixels in enumerate(decoded):
            assert np.array_equal(pixels, levels[k]), f"byte {i} ^ {flip:#x}: wrong pixels at level {k}"
    assert caught > len(data) * 0.9

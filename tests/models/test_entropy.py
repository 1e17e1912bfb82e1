import numpy as np
import pytest

from roicodec.errors import CorruptFileError
from roicodec.models.entropy import LatentCoder


@pytest.fixture()
def coder() -> LatentCoder:
    freqs = [np.array([1, 5, 50, 5, 1], np.uint32), np.array([3, 30, 300, 30, 3, 1, 1], np.uint32)]
    return LatentCoder(np.array([-2, -3]), freqs)


def test_round_trip_and_determinism(coder) -> None:
    rng = np.random.default_rng(0)
    latent = np.stack([rng.integers(-2, 3, (6, 9)), rng.integers(-3, 4, (6, 9))]).astype(np.int32)
    data = coder.encode(latent)
    assert coder.encode(latent) == data
    assert np.array_equal(coder.decode(data, (6, 9)), latent)


def test_values_beyond_the_table_are_clamped(coder) -> None:
    latent = np.array([[[-9, 9]], [[-9, 9]]], np.int32)
    assert coder.decode(coder.encode(latent), (1, 2)).tolist() == [[[-2, 2]], [[-3, 3]]]


def test_probable_symbols_cost_less(coder) -> None:
    likely = np.zeros((2, 32, 32), np.int32)
    likely[1] = -1  # each channel's most probable symbol
    rare = np.full((2, 32, 32), 2, np.int32)
    assert len(coder.encode(likely)) < len(coder.encode(rare)) / 10


def test_partial_word_is_refused(coder) -> None:
    with pytest.raises(CorruptFileError):
        coder.decode(b"abc", (1, 1))


def test_payload_too_short_for_its_latent_is_refused(coder) -> None:
    # Each cell costs at least -log2(50/62) - log2(300/368) bits: 100,000 cells cannot fit in 8 bytes.
    with pytest.raises(CorruptFileError, match="too short"):
        coder.decode(b"\0" * 8, (100, 1000))

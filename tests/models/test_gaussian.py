"""The hyperprior's per-cell coder: exact round trips whatever the grouping, tables that are Gaussians, and damage
refused."""

import math

import numpy as np
import pytest

from roicodec.errors import CorruptFileError
from roicodec.models import gaussian
from roicodec.models.gaussian import MEAN_STEPS, SCALES, IndexedCoder, gaussian_tables, table_index


@pytest.fixture(scope="module")
def coder() -> IndexedCoder:
    return IndexedCoder(*gaussian_tables())


def _sample(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Symbols relative to the floor of their mean, and their tables."""
    scale = rng.integers(0, len(SCALES), shape)
    fraction = rng.integers(0, MEAN_STEPS, shape)
    latent = np.round(rng.normal(fraction / MEAN_STEPS, SCALES[scale])).astype(np.int16)
    return latent, table_index(scale, fraction)


def test_round_trip_in_one_band_and_in_many(coder, monkeypatch) -> None:
    latent, index = _sample(np.random.default_rng(0), (12, 9, 11))
    data = coder.encode(latent, index)
    assert np.array_equal(coder.decode(data, index), latent)
    monkeypatch.setattr(gaussian, "BAND_CELLS", 30)  # a couple of rows per band: grouping restarts in each
    banded = coder.encode(latent, index)
    assert banded != data and np.array_equal(coder.decode(banded, index), latent)


def test_rate_follows_the_scales(coder) -> None:
    rng = np.random.default_rng(1)
    latent, index = _sample(rng, (8, 16, 16))
    bits = len(coder.encode(latent, index)) * 8
    # The ideal cost of these symbols under their own Gaussians: the coder is within 2 % of it.
    ideal = 0.0
    for v, k in zip(latent.ravel(), index.ravel()):
        s, mu = SCALES[k // MEAN_STEPS], (k % MEAN_STEPS) / MEAN_STEPS
        p = 0.5 * (math.erfc(-(v + 0.5 - mu) / (s * math.sqrt(2))) - math.erfc(-(v - 0.5 - mu) / (s * math.sqrt(2))))
        ideal -= math.log2(p)
    assert ideal * 0.98 < bits < ideal * 1.02 + 64


def test_symbols_beyond_a_table_are_clamped_as_the_decoder_will_see_them(coder) -> None:
    index = np.zeros((1, 1, 3), np.uint8)  # the narrowest table: [-2, 3]
    latent = np.array([[[-9, 1, 30]]], np.int16)
    used = coder.clamp(latent, index)
    assert used.tolist() == [[[-2, 1, 3]]]
    assert np.array_equal(coder.decode(coder.encode(latent, index), index), used)


def test_tables_are_discretised_gaussians_at_quarter_step_means() -> None:
    offsets, freqs = gaussian_tables()
    assert len(freqs) == len(SCALES) * MEAN_STEPS
    for k in (0, 20, 63):
        for fraction in range(MEAN_STEPS):
            t = int(table_index(np.array(k), np.array(fraction)))
            s, mu, o, f = SCALES[k], fraction / MEAN_STEPS, offsets[t], freqs[t]
            assert o == -max(2, math.ceil(7.5 * s)) and len(f) == 2 - 2 * o
            for n in (0, 1):  # the two symbols either side of the mean
                want = 0.5 * (math.erf((n + 0.5 - mu) / (s * math.sqrt(2))) - math.erf((n - 0.5 - mu) / (s * math.sqrt(2))))
                got = f[n - o] / f.sum()
                assert got == pytest.approx(want, rel=3e-3, abs=2 ** -19)  # the floor of 1 count in the far tails  # the floor of 1 count in the far tails


def test_damaged_payloads_are_refused(coder) -> None:
    latent, index = _sample(np.random.default_rng(2), (4, 8, 8))
    data = coder.encode(latent, index)
    with pytest.raises(CorruptFileError, match="32-bit"):
        coder.decode(data[:-1], index)
    with pytest.raises(CorruptFileError, match="too short"):
        coder.decode(data[:8], np.full((96, 64, 64), 63, np.uint8))

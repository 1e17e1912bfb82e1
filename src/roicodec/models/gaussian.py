"""Range coding of a latent whose every cell has its own table: the hyperprior's Gaussians, one table per scale in a
fixed ladder and per quarter-step offset of the mean, chosen per cell by an index (:mod:`roicodec.models.integer`
computes the scale and the mean, :mod:`roicodec.models.hyper_coder` turns them into the index).

The tables are made once, at export, from the Gaussian in float64, and ship as integer counts; coding reads only those
integers, so the bytes and the symbols are the same on every machine. Cells are coded grouped by index, in raster
order within a group, a band of rows at a time: one table per call to the range coder keeps it fast, and bands keep
the grouping's memory bounded on large images.
"""

from __future__ import annotations

import math

import constriction
import numpy as np

from roicodec.errors import CorruptFileError

SCALES = np.exp(np.linspace(math.log(0.11), math.log(256.0), 64))
"""The scale ladder (CompressAI's): index ``k`` codes with a Gaussian of standard deviation ``SCALES[k]``."""
MEAN_STEPS = 4
"""Means are multiples of ``1 / MEAN_STEPS``: a cell's value is coded relative to the floor of its mean, with the
table made for the mean's fractional part, so every table is a fixed integer array and the latent stays integer."""
BAND_CELLS = 1 << 20
"""Latent cells (all channels) per band."""


def table_index(scale: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """The table of scale index ``scale`` and mean fraction ``fraction`` (in ``1 / MEAN_STEPS``)."""
    return (scale.astype(np.uint16) * MEAN_STEPS + fraction).astype(np.uint8)


def gaussian_tables(scales: np.ndarray = SCALES, precision: int = 20, tail: float = 7.5) -> tuple[np.ndarray,
                                                                                                  list[np.ndarray]]:
    """Per table (:func:`table_index`), the smallest symbol of its support and integer counts summing to about
    ``2**precision``, every symbol at least 1: a Gaussian of mean ``f / MEAN_STEPS`` discretised over ``[-R, R + 1]``,
    ``R`` = ``tail`` standard deviations. 20 bits, not 16: the widest tables spread over 3,842 symbols, where 16 bits
    would round each count by about 0.5 %."""
    offsets, freqs = [], []
    for s, f in ((s, f) for s in scales for f in range(MEAN_STEPS)):
        r = max(2, math.ceil(tail * float(s)))
        mu = f / MEAN_STEPS
        n = np.arange(-r, r + 2, dtype=np.float64)
        upper = np.array([0.5 * math.erfc(-(v + 0.5 - mu) / (s * math.sqrt(2))) for v in n])
        lower = np.array([0.5 * math.erfc(-(v - 0.5 - mu) / (s * math.sqrt(2))) for v in n])
        upper[-1], lower[0] = 1.0, 0.0  # the ends take the tails
        pmf = upper - lower
        offsets.append(-r)
        freqs.append(np.maximum(np.round(pmf / pmf.sum() * 2 ** precision), 1).astype(np.uint32))
    return np.asarray(offsets, np.int32), freqs


class IndexedCoder:
    """Codes a ``(C, h, w)`` integer latent given a same-shape array of table indices; symbols beyond their table are
    clamped to its ends (:meth:`clamp` gives the latent the decoder will see)."""

    def __init__(self, offsets: np.ndarray, freqs: list[np.ndarray]) -> None:
        self.low = np.asarray(offsets, np.int64)
        self.high = self.low + np.array([len(f) for f in freqs]) - 1
        self._models = [constriction.stream.model.Categorical(f.astype(np.float64) / float(f.sum()), perfect=False)
                        for f in freqs]
        self._min_bits = np.array([float(-np.log2(f.max() / f.sum())) for f in freqs])

    def clamp(self, latent: np.ndarray, index: np.ndarray) -> np.ndarray:
        return np.clip(latent, self.low[index], self.high[index]).astype(latent.dtype)

    @staticmethod
    def _bands(index: np.ndarray) -> list[slice]:
        c, h, w = index.shape
        rows = max(1, BAND_CELLS // max(1, c * w))
        return [slice(y, min(y + rows, h)) for y in range(0, h, rows)]

    def encode(self, latent: np.ndarray, index: np.ndarray) -> bytes:
        encoder = constriction.stream.queue.RangeEncoder()
        for band in self._bands(index):
            idx = index[:, band].ravel()
            sym = latent[:, band].ravel().astype(np.int64)
            order = np.argsort(idx, kind="stable")
            starts = np.searchsorted(idx[order], np.arange(len(self._models) + 1))
            for k in np.flatnonzero(np.diff(starts)):
                cells = order[starts[k]:starts[k + 1]]
                symbols = np.clip(sym[cells], self.low[k], self.high[k]) - self.low[k]
                encoder.encode(symbols.astype(np.int32), self._models[k])
        return encoder.get_compressed().astype("<u4").tobytes()

    def decode(self, data: bytes, index: np.ndarray) -> np.ndarray:
        if len(data) % 4:
            raise CorruptFileError("base layer is not a whole number of 32-bit words: the file is damaged")
        if len(data) * 8 + 64 < 0.98 * float(self._min_bits[index].sum()):
            raise CorruptFileError(f"base layer of {len(data)} bytes is too short for its latent: the file is damaged")
        decoder = constriction.stream.queue.RangeDecoder(np.frombuffer(data, "<u4").astype(np.uint32))
        latent = np.empty(index.shape, np.int16)
        try:
            for band in self._bands(index):
                idx = index[:, band].ravel()
                out = np.empty(idx.size, np.int16)
                order = np.argsort(idx, kind="stable")
                starts = np.searchsorted(idx[order], np.arange(len(self._models) + 1))
                for k in np.flatnonzero(np.diff(starts)):
                    cells = order[starts[k]:starts[k + 1]]
                    out[cells] = decoder.decode(self._models[k], len(cells)) + self.low[k]
                latent[:, band] = out.reshape(latent[:, band].shape)
        except (AssertionError, RuntimeError, ValueError) as exc:
            raise CorruptFileError(f"base layer does not decode ({exc}): the file is damaged") from None
        return latent

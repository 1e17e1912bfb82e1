"""Coding with the mean-scale hyperprior (:mod:`roicodec.models.hyperprior` describes the model): ``z`` with its
factorised tables, ``h_s(z)`` as an exact integer network that gives each latent cell a scale index and a mean in
quarter steps, then ``y``, each cell relative to the floor of its mean with the table of its scale and the mean's
fraction (:mod:`roicodec.models.gaussian`).

Decoding runs NumPy and the range coder only: ``h_s`` is integer arithmetic in float64 and must stay so (its exactness
keeps encoder and decoder on the same tables on every machine); no graph runtime is involved. Encoding runs ``h_a``
(a graph of :mod:`roicodec.models.runtime`), whose float order may differ anywhere: its output is coded, not
recomputed.

The payload is ``z``'s byte count (4 bytes, little-endian), ``z``'s range code, then ``y``'s.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from roicodec.errors import CorruptFileError
from roicodec.models.entropy import LatentCoder
from roicodec.models.gaussian import MEAN_STEPS, IndexedCoder, table_index
from roicodec.models.integer import IntegerLayer, IntegerNetwork

HYPER_STRIDE = 4
"""Latent cells per hyper-latent cell along each axis."""
BAND = 64
"""Hyper-latent rows per band when the encoder runs ``h_a``; bands overlap by :data:`HYPER_HALO`."""
HYPER_HALO = 4
"""Hyper-latent rows of context above and below each band; ``h_a``'s receptive field is under 3."""
SYNTHESIS_BAND = 16
"""Hyper-latent rows per band when ``h_s`` runs (64 latent rows)."""
SYNTHESIS_HALO = 2
"""Hyper-latent rows of context above and below each ``h_s`` band: the latent rows of hyper-latent row ``c`` depend
on rows ``c - 1`` to ``c + 2`` (two stride-2 transposed layers, then 1x1; a halo of 1 gives other values, which
tests/models/test_hyper_coder.py checks against one run)."""


def _range(v: int | list[int]) -> int | np.ndarray:
    return v if isinstance(v, int) else np.asarray(v, np.int64)


def load_synthesis(meta: dict[str, Any], arrays: dict[str, np.ndarray], input_bound: int) -> IntegerNetwork:
    """``h_s`` from a weight file: arrays ``int/h_s.{i}.weight`` and ``.bias``, each layer's shift and range in
    ``meta["h_s"]``."""
    layers = []
    for i, spec in enumerate(meta["h_s"]):
        layers.append(IntegerLayer(arrays[f"int/h_s.{i}.weight"].astype(np.int64),
                                   arrays[f"int/h_s.{i}.bias"].astype(np.int64), int(spec["shift"]),
                                   int(spec["stride"]), int(spec["padding"]), bool(spec["transposed"]),
                                   int(spec["output_padding"]), _range(spec["low"]), _range(spec["high"])))
    return IntegerNetwork(layers, input_bound)


def read_tables(arrays: Mapping[str, np.ndarray], name: str, count: int) -> list[np.ndarray]:
    """``count`` integer coding tables: one array ``{name}_freqs`` cut by ``{name}_lengths`` (files written
    from now on: a weight file's members each cost a read, and there are hundreds of tables), or one array per table,
    ``{name}_freq/{k}`` (the ``hp`` files)."""
    if f"{name}_freqs" not in arrays:
        return [arrays[f"{name}_freq/{k}"] for k in range(count)]
    flat, lengths = arrays[f"{name}_freqs"], np.asarray(arrays[f"{name}_lengths"], np.int64)
    if len(lengths) != count or int(lengths.sum()) != len(flat):
        raise ValueError(f"the weight file's {name} tables do not add up: {len(lengths)} tables of {int(lengths.sum())} "
                         f"counts for {count} tables of {len(flat)}")
    return np.split(flat, np.cumsum(lengths)[:-1])


class HyperpriorCoder:
    """Codes a latent with its hyper-latent: what :class:`roicodec.models.base_model.BaseModel` calls for this
    architecture in place of a :class:`LatentCoder`. ``h_a`` gives the analysis graph when first encoding."""

    def __init__(self, meta: dict[str, Any], arrays: dict[str, np.ndarray],
                 h_a: Callable[[], Callable[[np.ndarray], np.ndarray]]) -> None:
        self.hyper_channels = int(meta["config"]["hyper_channels"])
        self.latent_channels = int(meta["latent_channels"])
        self._h_a = h_a
        zc = self.hyper_channels
        self.z_coder = LatentCoder(arrays["z_offsets"], read_tables(arrays, "z", zc))
        bound = max(max(abs(o), abs(o + n - 1)) for o, n in zip(self.z_coder.offsets, self.z_coder.sizes))
        self.h_s = load_synthesis(meta, arrays, bound)
        count = len(meta["scales"]) * MEAN_STEPS
        self.y_coder = IndexedCoder(arrays["scale_offsets"], read_tables(arrays, "scale", count))

    def tables(self, z: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Each latent cell's table and the floor of its mean, from the hyper-latent: exact, the same everywhere.
        ``h_s`` runs on bands of :data:`SYNTHESIS_BAND` hyper-latent rows, so its float64 activations (16 bytes per
        latent value at its last layer) never exist for the whole plane; only these two arrays do."""
        m = self.latent_channels
        table = np.empty((m, *shape), np.uint8)
        centre = np.empty((m, *shape), np.int32)
        for rows, out in self._bands(z, shape):
            means = out[m:]  # in 1 / MEAN_STEPS
            table[:, rows] = table_index(out[:m], means % MEAN_STEPS)
            centre[:, rows] = means // MEAN_STEPS
        return table, centre

    def index(self, z: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """The raw output of ``h_s``: scale indices, then means in ``1 / MEAN_STEPS``."""
        return np.concatenate([out for _, out in self._bands(z, shape)], axis=1)

    def _bands(self, z: np.ndarray, shape: tuple[int, int]) -> Iterator[tuple[slice, np.ndarray]]:
        """``h_s`` band by band: (latent rows, its output there). Each band runs with :data:`SYNTHESIS_HALO` rows of
        context on either side, more than its receptive field, so a band's values are those of one run."""
        zh, s = z.shape[1], HYPER_STRIDE
        for r0 in range(0, zh, SYNTHESIS_BAND):
            r1 = min(r0 + SYNTHESIS_BAND, zh)
            o0, o1 = max(r0 - SYNTHESIS_HALO, 0), min(r1 + SYNTHESIS_HALO, zh)
            rows = slice(r0 * s, min(r1 * s, shape[0]))
            if rows.start >= rows.stop:
                break
            out = self.h_s(z[:, o0:o1])
            first = (r0 - o0) * s
            yield rows, out[:, first:first + rows.stop - rows.start, :shape[1]]

    def hyper_latent(self, latent: np.ndarray) -> np.ndarray:
        """``round(h_a(y))`` in bands of rows (bounded memory), clamped to the hyper-latent's tables."""
        h_a = self._h_a()
        lh, lw = latent.shape[1:]
        zh, zw = -(-lh // HYPER_STRIDE), -(-lw // HYPER_STRIDE)
        z = np.empty((self.hyper_channels, zh, zw), np.int16)
        s = HYPER_STRIDE
        for r0 in range(0, zh, BAND):
            r1 = min(r0 + BAND, zh)
            o0, o1 = max(r0 - HYPER_HALO, 0), min(r1 + HYPER_HALO, zh)
            out = h_a(np.ascontiguousarray(latent[None, :, o0 * s:o1 * s], np.float32))[0]
            z[:, r0:r1] = np.clip(out[:, r0 - o0:r1 - o0], -32768, 32767)
        return self.z_coder.clamp(z)

    def code(self, latent: np.ndarray, z: np.ndarray | None = None) -> tuple[bytes, np.ndarray]:
        """``latent``'s payload with hyper-latent ``z`` (default ``round(h_a(latent))``), and the latent decoded."""
        z = self.hyper_latent(latent) if z is None else self.z_coder.clamp(z)
        table, centre = self.tables(z, latent.shape[1:])
        symbols = np.empty(latent.shape, np.int32)
        used = np.empty(latent.shape, np.int16)
        for rows in _row_bands(latent.shape[1]):
            # A band at a time: the clamp's bounds are int64 per cell, and the whole plane's at once made the peak
            # of encoding grow by about 30 bytes a latent value with the plane's size (docs/scaling.md).
            band = self.y_coder.clamp(latent[:, rows].astype(np.int32) - centre[:, rows], table[:, rows])
            symbols[:, rows] = band
            used[:, rows] = np.clip(band + centre[:, rows], -32768, 32767)
        del centre
        z_data = self.z_coder.encode(z)
        return struct.pack("<I", len(z_data)) + z_data + self.y_coder.encode(symbols, table), used

    def uncode(self, data: bytes, shape: tuple[int, int]) -> np.ndarray:
        if len(data) < 4:
            raise CorruptFileError("base layer is shorter than its header: the file is damaged")
        (size,) = struct.unpack_from("<I", data)
        if size > len(data) - 4:
            raise CorruptFileError("base layer's hyper-latent runs past its end: the file is damaged")
        zshape = -(-shape[0] // HYPER_STRIDE), -(-shape[1] // HYPER_STRIDE)
        z = self.z_coder.decode(data[4:4 + size], zshape)
        table, centre = self.tables(z, shape)
        symbols = self.y_coder.decode(data[4 + size:], table)
        del table
        for rows in _row_bands(shape[0]):  # in place, a band at a time, as in encoding
            symbols[:, rows] = np.clip(symbols[:, rows] + centre[:, rows], -32768, 32767)
        return symbols


def _row_bands(height: int) -> list[slice]:
    """Latent rows a band at a time: those of one ``h_s`` band."""
    rows = SYNTHESIS_BAND * HYPER_STRIDE
    return [slice(y, min(y + rows, height)) for y in range(0, height, rows)]

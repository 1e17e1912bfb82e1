"""The ROI's enhancement layers over one tile: each layer refines the ROI of the level below it (docs/format.md).

Layers follow the base layer's tile grid, so that the codec refines the image one tile at a time and memory stays
bounded whatever the image's size. A layer is a table of tiles (each a 32-bit length, then the tile's payload); a
tile without ROI pixels has an empty payload. What a payload holds depends on the layer's kind
(:mod:`roicodec.layer_codecs`); outside the ROI every level equals the base. A verified layer (exact or
near-lossless) ends its table with the SHA-256 of the ROI pixels it decodes to, over the plane's tiles in order.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from roicodec import layer_codecs
from roicodec.container import Layer
from roicodec.errors import CorruptFileError
from roicodec.mask import bounding_box

_LENGTH = struct.Struct(">I")


def encode_tile(original: np.ndarray, base: np.ndarray, mask: np.ndarray, layers: Sequence[Layer],
                digests: Sequence[Any | None] = ()) -> list[bytes]:
    """One tile's payload per layer (``HxWxC`` tiles, uint8 or uint16); ``base`` becomes the tile's top level in
    place.

    ``digests`` (one per layer, ``None`` for unverified ones) are updated with the ROI pixels each verified layer
    decodes to."""
    if not mask.any():
        return [b""] * len(layers)
    ys, xs = bounding_box(mask)
    orig, recon, roi = original[ys, xs], base[ys, xs], mask[ys, xs]
    payloads = []
    for layer, digest in zip(layers, [*digests, *[None] * (len(layers) - len(digests))]):
        payloads.append(layer_codecs.encode(layer, orig, recon, roi))
        if digest is not None:
            digest.update(roi_bytes(recon, roi))
    return payloads


def decode_tile(base: np.ndarray, mask: np.ndarray, payloads: Sequence[bytes], layers: Sequence[Layer],
                digests: Sequence[Any | None] = ()) -> Iterator[np.ndarray]:
    """Apply one tile's ``payloads`` to ``base`` (in place) and yield the tile after each layer; ``digests`` as in
    :func:`encode_tile`."""
    unpacked = unpack_tile(mask, payloads, layers, base.shape[2], base.dtype)
    return apply_tile(base, mask, unpacked, layers, digests)


def unpack_tile(mask: np.ndarray, payloads: Sequence[bytes], layers: Sequence[Layer], channels: int,
                dtype: Any) -> list[layer_codecs.Unpacked | None]:
    """One tile's ``payloads`` through their codecs (``None`` where the tile has no ROI): the half of
    :func:`decode_tile` that needs no base, and touches no file, so that it can run in another thread."""
    if not mask.any():
        if any(payloads):
            raise CorruptFileError("enhancement layer codes a tile without ROI: the file is damaged")
        return [None] * len(payloads)
    ys, xs = bounding_box(mask)
    shape = (ys.stop - ys.start, xs.stop - xs.start, channels)
    return [layer_codecs.unpack(layer, payload, shape, dtype) for layer, payload in zip(layers, payloads)]


def apply_tile(base: np.ndarray, mask: np.ndarray, unpacked: Sequence[layer_codecs.Unpacked | None],
               layers: Sequence[Layer], digests: Sequence[Any | None] = ()) -> Iterator[np.ndarray]:
    """Apply one tile's :func:`unpack_tile` result to ``base`` (in place) and yield the tile after each layer."""
    roi_here = mask.any()
    if roi_here:
        ys, xs = bounding_box(mask)
        recon, roi = base[ys, xs], mask[ys, xs]
    for layer, values, digest in zip(layers, unpacked, [*digests, *[None] * (len(unpacked) - len(digests))]):
        if roi_here and values is not None:
            layer_codecs.apply(layer, values, recon, roi)
            if digest is not None:
                digest.update(roi_bytes(recon, roi))
        yield base


def roi_bytes(recon: np.ndarray, roi: np.ndarray) -> bytes:
    """The ROI pixels a checked layer's SHA-256 covers: row-major, channels interleaved, 16-bit samples little-endian
    (so that the digest is the same on any machine)."""
    return recon[roi].astype(recon.dtype.newbyteorder("<"), copy=False).tobytes()


def tile_entry(payload: bytes) -> bytes:
    """One tile's entry in a layer's table: its length, then its payload."""
    return _LENGTH.pack(len(payload)) + payload


def pack_tiles(payloads: Sequence[bytes]) -> bytes:
    """A layer: its tiles' payloads, each after its length."""
    return b"".join(tile_entry(p) for p in payloads)


class TileTable:
    """A layer's tile table, read through ``read(start, length)`` (bytes of the layer's payload): the lengths are
    walked and checked against the layer's size once, before anything is sliced, and each tile's payload is read
    only when asked for, so that a layer never has to be whole in memory."""

    def __init__(self, read: Callable[[int, int], bytes], size: int, count: int) -> None:
        self._read = read
        self._spans = np.empty((count, 2), np.int64)
        pos = 0
        for i in range(count):
            if pos + _LENGTH.size > size:
                raise CorruptFileError("enhancement layer ends inside its tile table: the file is damaged")
            (length,) = _LENGTH.unpack(read(pos, _LENGTH.size))
            pos += _LENGTH.size
            if pos + length > size:
                raise CorruptFileError("enhancement layer tile runs past its chunk: the file is damaged")
            self._spans[i] = pos, length
            pos += length
        if pos != size:
            raise CorruptFileError("enhancement layer has bytes after its last tile: the file is damaged")

    def __len__(self) -> int:
        return len(self._spans)

    def __getitem__(self, index: int) -> bytes:
        start, length = (int(v) for v in self._spans[index])
        return self._read(start, length) if length else b""


def unpack_tiles(data: bytes, count: int) -> list[bytes]:
    """The ``count`` tile payloads of an in-memory layer."""
    table = TileTable(lambda start, length: data[start:start + length], len(data), count)
    return [table[i] for i in range(count)]

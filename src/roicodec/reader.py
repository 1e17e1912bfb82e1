"""Read a ``.roi`` file: the header and chunk heads on opening, pixels of any level (of any plane) on request, a
tile at a time. The decode loop, :func:`decode_plane`, mirrors :func:`roicodec.encoder.encode_plane`."""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import IO, Any, Self, TypeVar, overload

import numpy as np

from roicodec import base, container, heap, intensity, ladder
from roicodec import mask as roimask
from roicodec.errors import CorruptFileError, RoiError, TruncatedFileError
from roicodec.inputs import ArrayLike, shape_text
from roicodec.intensity import Mapping
from roicodec.models import registry

Source = str | os.PathLike | bytes | IO[bytes]
"""A ``.roi`` file: its path, its bytes, or a binary file object."""

OutArray = TypeVar("OutArray", bound=ArrayLike)
"""An array that decoding writes into, a tile at a time (assignment of NumPy-style slices)."""


@dataclass(frozen=True)
class LevelInfo:
    level: int
    quality: int | None
    """Quality of the lossy layer (JPEG or AVIF) that completes this level; ``None`` for the base and checked
    layers."""
    bytes: int
    """File bytes a reader needs for this level: signature, header, base, mask and layers up to it."""
    bpp: float
    layer: str = "base"
    """The layer that completes this level, as written in a ladder: ``avif:40``, ``jpeg:75``, ``near:2``, ``exact``."""
    max_error: int | None = None
    """Largest difference from the original in the ROI that the level guarantees, checked on decoding (its pixels'
    SHA-256): 0 for an exact level, ``k`` for a near-lossless one, ``None`` when nothing is guaranteed."""

    @property
    def exact(self) -> bool:
        """Whether the ROI decodes to the original's pixels, checked against the file's SHA-256 of them."""
        return self.max_error == 0


class RoiFile:
    """An opened ``.roi`` file. Opening reads the header and chunk heads only; pixels decode on request."""

    def __init__(self, source: Source) -> None:
        self._owns_fp = not hasattr(source, "read")
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._fp: IO[bytes] = io.BytesIO(bytes(source))
        elif isinstance(source, (str, os.PathLike)):
            try:
                self._fp = Path(source).open("rb")  # noqa: SIM115 - held until close(): reads are lazy
            except FileNotFoundError:
                raise FileNotFoundError(f"no such file: {os.fspath(source)}") from None
        else:
            self._fp = source
        if not self._fp.seekable():  # a pipe or FIFO: chunks are found by seeking, so hold the bytes
            data = self._fp.read()
            self.close()
            self._fp, self._owns_fp = io.BytesIO(data), True
        try:
            self.layout = container.read_layout(self._fp)
        except BaseException:
            self.close()
            raise
        if not self.layout.levels_available:
            self.close()
            raise TruncatedFileError("file ends before its base layer is complete: fetch the whole file again")

    def close(self) -> None:
        """Close the file if this object opened it (a caller's file object stays open)."""
        if self._owns_fp:
            self._fp.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def header(self) -> container.Header:
        return self.layout.header

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``, as Pillow gives it."""
        return self.header.width, self.header.height

    @property
    def mode(self) -> str:
        """As Pillow names it: ``L`` or ``RGB`` (8 bits), ``I;16`` (16-bit gray, each plane of a 16-bit file)."""
        return "I;16" if self.header.bits == 16 else self.header.mode

    @property
    def dtype(self) -> np.dtype:
        """The dtype of decoded pixels: uint8, or uint16 for a 16-bit file (its own units)."""
        return np.dtype(self.header.dtype)

    @property
    def mappings(self) -> tuple[Mapping, ...]:
        """A 16-bit file's intensity mappings (one per channel, or one for every plane): how its base layer was
        taken to 8 bits and back. Empty for 8-bit files."""
        return self.header.mappings

    @property
    def axes(self) -> str | None:
        """The file's axes as its writer named them (e.g. ``"CZYX"``), when they fit its shape; else ``None``."""
        axes = self.metadata.get("axes")
        if not isinstance(axes, str):
            return None
        if self.header.mode == "L" and axes.endswith("S"):  # gray written as (..., Y, X, 1)
            axes = axes[:-1]
        return axes if len(axes) == len(self.shape) else None

    @property
    def qualities(self) -> tuple[int | None, ...]:
        """Each layer's quality (``None`` for checked layers: exact or near-lossless); see :attr:`layers`."""
        return tuple(layer.quality for layer in self.header.layers)

    @property
    def layers(self) -> tuple[str, ...]:
        """The enhancement layers, lowest first, as a ladder writes them (``avif:40``, ``exact``, ...)."""
        return tuple(map(str, self.header.layers))

    @property
    def model(self) -> tuple[str, str]:
        """Name and hash (hex) of the base-layer model that coded the file."""
        return self.header.model_name, self.header.model_hash.hex()

    def verify(self) -> None:
        """Read every chunk up to the highest level and check its CRC; raise :class:`CorruptFileError` on damage."""
        container.check_payloads(self._fp, self.layout, self.levels - 1)

    @cached_property
    def metadata(self) -> dict[str, Any]:
        """The description stored with :func:`encode`'s ``metadata`` (empty if none)."""
        raw = container.read_meta(self._fp, self.layout)
        if not raw:
            return {}
        try:
            meta = json.loads(raw)
        except ValueError:
            meta = None
        if not isinstance(meta, dict):
            raise CorruptFileError("metadata chunk is not a JSON object: the file is damaged")
        return meta

    @cached_property
    def icc_profile(self) -> bytes | None:
        """The ICC profile stored with the image (what its pixel values mean, e.g. Display P3), or ``None``: then
        they are sRGB, as for any image without one."""
        return container.read_icc(self._fp, self.layout) or None

    @property
    def levels(self) -> int:
        """Levels complete in this file (the header's count unless the file is truncated)."""
        return self.layout.levels_available

    def intact_levels(self) -> int:
        """How many levels, from the base up, pass their CRC-32 checks (reads every chunk up to the highest level);
        :attr:`levels` when the file is undamaged."""
        return container.intact_levels(self._fp, self.layout)

    @property
    def level_info(self) -> list[LevelInfo]:
        """Bytes and bits per pixel of each level present; for a stack, bpp counts the pixels of every plane."""
        pixels = self.header.width * self.header.height * self.header.plane_count
        layers = (None, *self.header.layers)
        return [LevelInfo(k, None if k == 0 else layers[k].quality, n, n * 8 / pixels,
                          "base" if k == 0 else str(layers[k]), None if k == 0 else layers[k].max_error)
                for k, n in enumerate(self.layout.level_ends)]

    @property
    def planes(self) -> tuple[int, ...]:
        """Leading axes of a stack (e.g. ``(Z,)`` or ``(T, Z)``); ``()`` for a single image."""
        return self.header.planes

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of a decoded level: ``(...planes, Y, X)`` for gray, ``(...planes, Y, X, 3)`` for RGB."""
        return (*self.planes, self.header.height, self.header.width) + ((3,) if self.mode == "RGB" else ())

    def _plane_index(self, plane: int | Sequence[int]) -> int:
        count = self.header.plane_count
        try:
            index = int(np.ravel_multi_index(tuple(plane), self.planes)) if not isinstance(plane, int) else plane
        except (TypeError, ValueError):
            index = -1
        if not 0 <= index < count:
            raise RoiError(f"plane {plane} is not in this file: it holds {count} plane(s), shape {self.planes}")
        return index

    @cached_property
    def mask(self) -> np.ndarray:
        """The ROI, boolean: ``(Y, X)`` when one mask serves every plane, ``(...planes, Y, X)`` when each has its own;
        all true for a base-only file."""
        hw = (self.header.height, self.header.width)
        if not self.header.mask_per_plane:
            return self.plane_mask(0)
        return np.stack([self.plane_mask(p) for p in range(self.header.plane_count)]).reshape(*self.planes, *hw)

    def plane_mask(self, plane: int | Sequence[int]) -> np.ndarray:
        """The ``(Y, X)`` ROI of one plane."""
        index = self._plane_index(plane)
        if not self.header.layers or self.levels < 2:
            if self.header.layers:
                raise TruncatedFileError("file ends before its mask: fetch the whole file again")
            return np.ones((self.header.height, self.header.width), bool)
        _check_pixels(self.header)
        payloads = container.read_payloads(self._fp, self.layout, 1, index)
        return roimask.unpack(payloads[container.MASK][0], self.header.height, self.header.width,
                              self.header.bits == 16)

    @property
    def has_preview(self) -> bool:
        """Whether :meth:`preview` can run: the file's base model ships a preview head (checked without torch)."""
        return registry.has_preview(self.header.model_name)

    def preview(self, plane: int | Sequence[int] = 0) -> np.ndarray:
        """One plane's base layer at 1/4 of its size (rounded up), from the model's small preview head.

        Far cheaper than :meth:`decode`: meant for thumbnails, where the enhancement layers would not show.
        """
        _check_pixels(self.header)
        data = container.read_payloads(self._fp, self.layout, 0, self._plane_index(plane))[container.BASE][0]
        img = intensity.native(base.preview(data, self.header), self.header.mapping(self._plane_index(plane)))
        return img[..., 0] if img.shape[2] == 1 else img

    @overload
    def decode(self, level: int | None = None, plane: int | Sequence[int] | None = None) -> np.ndarray: ...

    @overload
    def decode(self, level: int | None = None, plane: int | Sequence[int] | None = None, *, out: OutArray) -> OutArray:
        ...

    def decode(self, level: int | None = None, plane: int | Sequence[int] | None = None, *,
               out: OutArray | None = None) -> np.ndarray | OutArray:
        """Pixels of ``level`` (default: the highest in the file), of shape :attr:`shape` and dtype :attr:`dtype`
        (uint8, or uint16 for a 16-bit file); with ``plane`` (a flat index or an index per leading axis), of that
        plane only.

        With ``out`` (an array of exactly that shape and dtype, e.g. an ``np.memmap`` or a zarr array), the
        pixels are written into it a tile at a time and ``out`` is returned: the decoded plane is never whole in
        memory. If decoding fails part way (a damaged file), ``out`` holds the tiles written before the failure.
        """
        level = self._level(level)
        planes = self._planes_for(plane)
        shape = self.shape[len(self.planes):] if plane is not None else self.shape
        if out is not None:
            _check_out(out, shape, self.dtype)
        _check_pixels(self.header)
        target = np.empty(shape, self.dtype) if out is None else out
        for p, prefix in planes:
            for ys, xs, tiles in decode_plane(self._fp, self.layout, level, p, every_level=False):
                for tile in tiles:
                    _put(target, prefix, ys, xs, tile)
        return target

    def decode_all(self, level: int | None = None, plane: int | Sequence[int] | None = None) -> list[np.ndarray]:
        """Every level from the base up to ``level`` (default: the highest), each its own array, as :meth:`decode`
        gives them."""
        level = self._level(level)
        planes = self._planes_for(plane)
        shape = self.shape[len(self.planes):] if plane is not None else self.shape
        _check_pixels(self.header)
        targets = [np.empty(shape, self.dtype) for _ in range(level + 1)]
        for p, prefix in planes:
            for ys, xs, tiles in decode_plane(self._fp, self.layout, level, p):
                for target, tile in zip(targets, tiles):
                    _put(target, prefix, ys, xs, tile)
        return targets

    def _planes_for(self, plane: int | Sequence[int] | None) -> list[tuple[int, tuple[int, ...]]]:
        """The planes to decode, each with its index into the output (empty for one plane asked by ``plane``)."""
        if plane is not None:
            return [(self._plane_index(plane), ())]
        return [(p, tuple(int(i) for i in np.unravel_index(p, self.planes)) if self.planes else ())
                for p in range(self.header.plane_count)]

    def _level(self, level: int | None) -> int:
        level = self.levels - 1 if level is None else level
        if level < 0:
            raise RoiError(f"level {level} is invalid: levels count from 0 (the base)")
        top = self.header.levels - 1
        if level > top:
            raise RoiError(f"level {level} is not in this file: it has {_levels_text(top)}")
        if level >= self.levels:
            raise TruncatedFileError(f"level {level} is missing: the file is truncated and holds "
                                     f"{_levels_text(self.levels - 1)} of {top + 1}; ask for a lower level, or "
                                     "fetch the whole file again")
        return level


def decode_plane(fp: IO[bytes], layout: container.Layout, level: int, plane: int, every_level: bool = True
                 ) -> Iterator[tuple[slice, slice, Iterator[np.ndarray]]]:
    """One plane up to ``level``, tile by tile: each tile's rows and columns, and its ``(rows, cols, C)`` pixels at
    levels 0..``level`` in turn. Each level is refined in place from the one before, so use (or copy) a level before
    drawing the next. The inverse of :func:`roicodec.encoder.encode_plane`; every chunk read is CRC-checked first,
    and a checked level (exact or near-lossless) is compared with the SHA-256 the writer stored once its last tile
    is decoded: a mismatch raises :class:`CorruptFileError`, so wrong pixels never pass for exact ones.

    With ``every_level`` false, each tile yields level ``level`` only. If that level is a checked one, which codes
    the ROI's own pixels, what it replaces is not made: the layers below it are neither read nor decoded, and the
    base is not synthesised where a block of the decoder's lies wholly inside the ROI."""
    header = layout.header
    chunks = container.check_payloads(fp, layout, level, plane)
    grid = base.tiles(header)
    count = len(grid)
    # The first layer that this call applies: the asked one alone when it replaces the ROI whole.
    first = level - 1 if not every_level and level and header.layers[level - 1].verified else 0
    layers = header.layers[first:level]
    # Layers and the mask are read a tile (or a band of tiles) at a time: a huge plane's are never whole here.
    tables, expected = [], []
    for layer, c in zip(layers, chunks[container.LAYER][first:level]):
        size = c.length - (container.DIGEST if layer.verified else 0)
        if size < 0:
            raise CorruptFileError("checked enhancement layer is too short for its SHA-256: the file is damaged")
        tables.append(ladder.TileTable(partial(container.read_data, fp, c), size, count))
        expected.append(container.read_data(fp, c, size) if layer.verified else None)
    digests = [hashlib.sha256() if layer.verified else None for layer in layers]
    roi = roimask.Reader(container.read_data(fp, chunks[container.MASK][0]), header.height, header.width,
                         header.bits == 16) if level else None

    mapping = header.mapping(plane)
    channels = 1 if header.mode == "L" else 3
    # The layers' codecs need no base: one worker thread runs them a tile ahead while this thread synthesises the
    # base (the first tile's beside loading the model and entropy decoding, which leave the other cores idle). Files
    # are read here only; the worker gets bytes, and the layers are applied here, in tile order, for the digests.
    pool = ThreadPoolExecutor(1, thread_name_prefix="roicodec-layers") if roi is not None else None

    def unpacked(i: int) -> tuple[np.ndarray, Future[list[Any]]] | None:
        if pool is None or i >= count:
            return None
        ys, xs = grid[i][:2]
        region = roi.region(ys, xs)
        return region, pool.submit(ladder.unpack_tile, region, [t[i] for t in tables], layers, channels,
                                   header.dtype)

    def levels(base_layer: base.BaseLayer, i: int, ahead: tuple[np.ndarray, Future[list[Any]]] | None
               ) -> Iterator[np.ndarray]:
        unneeded = ahead[0] if ahead is not None and first else None
        img = intensity.native(base_layer.tile(i, unneeded), mapping)
        if every_level or ahead is None:
            yield img
        if ahead is not None:
            region, values = ahead
            made = ladder.apply_tile(img, region, values.result(), layers, digests)
            if every_level:
                yield from made
            else:
                yield deque(made, maxlen=1)[0]

    try:
        ahead = unpacked(0)
        base_layer = base.decode(container.read_data(fp, chunks[container.BASE][0]), header)
        for i, (ys, xs, *_) in enumerate(grid):
            heap.trim()  # as in encoding: the last tile's temporaries go back to the system, not to the next tile
            current, ahead = ahead, unpacked(i + 1)
            yield ys, xs, levels(base_layer, i, current)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    for k, (digest, want) in enumerate(zip(digests, expected), 1):
        if digest is not None and digest.digest() != want:
            raise CorruptFileError(f"level {k} ({layers[k - 1]}) does not decode to the ROI pixels its writer checked "
                                   "(SHA-256): the file is damaged, or its layer codec decodes differently here")


def _levels_text(top: int) -> str:
    return "only the base, level 0" if top == 0 else f"levels 0 (the base) to {top}"


def _put(array: Any, prefix: tuple[int, ...], ys: slice, xs: slice, tile: np.ndarray) -> None:
    array[(*prefix, ys, xs)] = tile[..., 0] if tile.shape[2] == 1 else tile


def _check_out(out: Any, shape: tuple[int, ...], want: np.dtype) -> None:
    """Refuse an ``out`` array that the decoded pixels would not fill exactly, before anything is decoded."""
    got = tuple(getattr(out, "shape", ()))
    try:
        dtype = np.dtype(getattr(out, "dtype", None))
    except TypeError:
        dtype = None
    if got != shape or dtype != want:
        raise RoiError(f"out is {shape_text(got)} {dtype} but this decodes to {shape_text(shape)} {want}: pass an "
                       f"array of that shape and dtype, e.g. np.lib.format.open_memmap(path, 'w+', np.{want}, "
                       f"{shape})")
    if isinstance(out, np.ndarray) and not out.flags.writeable:
        raise RoiError("out is read-only: open it for writing (np.memmap mode 'r+' or 'w+')")


def _check_pixels(header: container.Header) -> None:
    """Honour Pillow's decompression-bomb limit before any pixel is allocated, as Pillow's own decoders do."""
    from PIL import Image

    pixels, limit = header.width * header.height, Image.MAX_IMAGE_PIXELS
    if limit and pixels > 2 * limit:
        raise Image.DecompressionBombError(
            f"image of {pixels} pixels exceeds twice PIL.Image.MAX_IMAGE_PIXELS ({limit}): raise that limit if you "
            "trust the file")
    if limit and pixels > limit:
        warnings.warn(f"image of {pixels} pixels exceeds PIL.Image.MAX_IMAGE_PIXELS ({limit})",
                      Image.DecompressionBombWarning, stacklevel=3)


@overload
def decode(source: Source, level: int | None = None, plane: int | Sequence[int] | None = None) -> np.ndarray: ...


@overload
def decode(source: Source, level: int | None = None, plane: int | Sequence[int] | None = None, *,
           out: OutArray) -> OutArray: ...


def decode(source: Source, level: int | None = None, plane: int | Sequence[int] | None = None, *,
           out: OutArray | None = None) -> np.ndarray | OutArray:
    """Decode ``level`` (default: the highest complete one) of a ``.roi`` file, or of one plane of a stack; into
    ``out`` if given (see :meth:`RoiFile.decode`)."""
    with RoiFile(source) as f:
        return f.decode(level, plane) if out is None else f.decode(level, plane, out=out)

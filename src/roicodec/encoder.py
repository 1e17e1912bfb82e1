"""Write a ``.roi`` file: the planes' base layers, then the masks, then each enhancement layer of every plane, in
the file's progressive order (docs/format.md), one tile at a time. :mod:`roicodec.reader` mirrors it."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import IO, Any

from roicodec import atomic, base, container, inputs, intensity, ladder, layer_codecs, options, reader
from roicodec import mask as roimask
from roicodec.container import Layer
from roicodec.errors import RoiError
from roicodec.inputs import ImageLike
from roicodec.models import registry

DEFAULT_QUALITIES = options.PAPER_QUALITIES
"""The paper's JPEG ladder, for ``qualities=``; new files take :data:`~roicodec.options.DEFAULT_LADDER`."""
DEEP_LADDER = ("exact",)
"""The ladder of a 16-bit image when none is given: the base, then the ROI exact in the image's own units. A lossy
level between them costs more than base and mask together on nuclei (docs/microscopy.md), and what a microscopist
measures in the ROI needs its exact values."""
DEFAULT_TILE = 1024
MAX_TILES_AT_ONCE = 4
"""Most tiles whose layers are coded at the same time (fewer with fewer cores, :func:`layer_codecs.codec_threads`):
each holds its pixels and its codecs' buffers, about 150 MB for a 1024-pixel tile at AVIF speed 3 and JPEG XL
effort 8, so memory stays bounded whatever the image's size."""
_COPY_BLOCK = 1 << 20


def encode(image: ImageLike, mask: ImageLike | None = None, path: str | os.PathLike[str] | None = None, *,
           qualities: Sequence[int] | None = None, ladder: str | Sequence[str | Layer] | None = None,
           max_error: int | None = None, model: str | None = None,
           tile: int = DEFAULT_TILE, metadata: Mapping[str, Any] | None = None, rgb: bool | None = None,
           axes: str | None = None, window: inputs.Window | str | None = None,
           mapping: inputs.Mappings | None = None, refine: int = 0,
           icc_profile: bytes | None = None) -> bytes | None:
    """Code ``image`` with its ROI: return the ``.roi`` bytes, or with ``path``, write them there and return ``None``.

    The image and the mask are read a tile (or a band of rows) at a time, so an image that is not in memory (an
    ``np.memmap``, a zarr or dask array) stays out of it; with ``path`` the file is written chunk by chunk and never
    held whole either. Memory then stays about the same whatever the image's size (docs/scaling.md).

    Args:
        image: uint8 array ``(Y, X)`` or ``(Y, X, 1)`` gray or ``(Y, X, 3)`` RGB, or a stack of them with up to four
            leading axes (e.g. ``(Z, Y, X)``), coded plane by plane into one file; a uint16 gray image or stack,
            coded in its own units (format 1.2; decoded as uint16); channels that are not RGB as a leading or last
            axis named ``C`` in ``axes`` (e.g. ``"CZYX"``, ``"YXC"``), each channel of each plane its own plane; or a
            PIL image of mode L, RGB or I;16 (1 and P are converted; I when its values fit 16 bits; F needs
            ``window``); or any :class:`ArrayLike` of those shapes. A last axis of 2, 4 or up to 16 is refused as
            ambiguous unless ``axes`` says what it is.
        mask: ROI where non-zero: ``(Y, X)`` for every plane, or one per plane with the stack's leading axes; a
            picture of one (gray, RGB, or with alpha, where alpha 0 removes a pixel) is read from its values.
            ``None`` makes the whole image the ROI. A plane's mask may be empty, the whole mask may not.
        path: where to write the file: a regular file is replaced atomically (a failure leaves whatever was there
            intact, and no temporary file), a symbolic link's target likewise; a FIFO or device is written straight
            through. A path that is the file ``image`` or ``mask`` was read from is refused.
        qualities: the paper's ladder at these JPEG qualities (lowest first, increasing; empty for a base-only
            file): the same as ``ladder=["jpeg:75", "jpeg:90", "jpeg:100"]``, written as a format 1.0 file.
        ladder: the enhancement layers, lowest first: a name (``"default"``: two AVIF layers and an exact top level;
            ``"paper"``: JPEG 75, 90, 100), or layers as ``"avif:Q"``, ``"jpeg:Q"``, ``"near:K"``, ``"exact"``
            (:func:`roicodec.options.parse_ladder`). Default: ``"default"``.
            A 16-bit image's default is :data:`DEEP_LADDER` (the ROI exact), and its lossy layers are ``avif:Q``.
        max_error: the top level's largest error in the ROI: 0 (exact, the default ladder's top) or ``k`` for a
            near-lossless top level, every ROI pixel within ``±k`` (in the image's own units), checked when the file
            is read.
        model: base-layer model name (default: the package's default model).
        tile: base-layer tile side in pixels, a multiple of 16 (at least 64); bounds memory on large images.
        metadata: JSON-serialisable description kept in the file (e.g. a layer's ``name`` and ``scale``).
        rgb: whether the last axis holds RGB channels; by default it does when it has length 3.
        axes: one letter per axis of ``image``, ending in ``YX`` (gray), ``YXS`` (RGB samples) or ``YXC``
            (channels), e.g. ``"ZYX"``, ``"CZYX"`` or ``"TZYXS"``: says which axes are a stack or channels where the
            shape alone is ambiguous. Kept in the file's metadata as ``axes``, in the file's order (a last ``C``
            moves before ``YX``: ``"YXC"`` is kept as ``"CYX"``, and decodes so).
        window: for images of more than 8 bits (or floats), an 8-bit view instead of their own units:
            ``(low, high)``, the intensities mapped to 0 and 255 (linearly, clipped), or ``"auto"`` for the image's
            :data:`~roicodec.inputs.WINDOW_PERCENTILES`. Kept in the file's metadata as ``window``.
        mapping: for a 16-bit image, how each channel reaches the 8-bit base model (:mod:`roicodec.intensity`):
            ``"sqrt"`` (default) or ``"linear"`` over each channel's 0.1th..99.9th percentiles, or a
            :class:`~roicodec.intensity.Mapping` for every channel, or one per channel. Kept in the header.
        refine: steps of rate-distortion refinement of the base's latent for this image (:mod:`roicodec.models.refine`;
            hp models only, needs torch; about 0.7 s per step and megapixel on 2 cores): the same decoder, a smaller
            base for the same picture. 0 (the default) codes ``g_a``'s latent as it is.
        icc_profile: the ICC profile that says what the pixel values mean (a camera's Adobe RGB, a phone's Display
            P3), kept in the file and handed back by :attr:`RoiFile.icc_profile <roicodec.reader.RoiFile.icc_profile>`
            and Pillow's ``info["icc_profile"]``. Default: a PIL image's own ``info["icc_profile"]``, else none;
            ``b""`` keeps none. Pixels are coded as they are, never converted.
    """
    planes = inputs.Planes(image, rgb, axes, window, mapping)
    if ladder is None and qualities is None and planes.bits == 16:
        ladder = DEEP_LADDER
    layers = options.resolve_ladder(ladder, qualities, max_error)
    if planes.bits == 16 and any(layer.kind == "jpeg" for layer in layers):
        raise RoiError("jpeg layers code 8-bit residuals: give 16-bit images avif:Q layers (or near:K, exact)")
    if tile < container.MIN_TILE or tile % 16 or tile // 16 >= 1 << 16:
        raise RoiError(f"tile {tile} is invalid: use a multiple of 16 from 64 up, for example {DEFAULT_TILE}")
    described = dict(metadata or {})
    if axes is not None:
        # The file's order where it differs from the caller's (channels last are planes, so they come first).
        described.setdefault("axes", planes.axes if axes.endswith("C") else axes)
    channels = described.get("channels")
    if channels is not None and (not isinstance(channels, list) or planes.axes is None or "C" not in planes.axes
                                 or len(channels) != planes.lead[planes.axes.index("C")]):
        raise RoiError("metadata's channels must list one name per index of the image's C axis (axes='CZYX', ...)")
    if planes.window is not None:
        described.setdefault("window", list(planes.window))
    meta = pack_meta(described)
    icc = inputs.icc_profile(image) if icc_profile is None else check_profile(bytes(icc_profile))
    identity = registry.info(model)
    if refine:
        from roicodec.models.refine import check

        check(identity.name, refine)
    masks = inputs.Masks(mask, planes)
    header = container.Header(planes.width, planes.height, "L" if planes.channels == 1 else "RGB", layers,
                              identity.name, identity.hash, tile, planes=planes.lead, mask_per_plane=masks.count > 1,
                              bits=planes.bits, mappings=planes.mappings, channel_axis=planes.channel_axis)
    if path is None:
        buf = io.BytesIO()
        _write(buf, header, meta, icc, planes, masks, io.BytesIO, refine)
        return buf.getvalue()
    with atomic.replacing(path, inputs=inputs.source_files(image, mask)) as fp:
        if atomic.streams(path):
            # A FIFO or device cannot seek back to fill in chunk lengths: code into a temporary file, then copy.
            with tempfile.TemporaryFile() as whole:
                _write(whole, header, meta, icc, planes, masks, tempfile.TemporaryFile, refine)
                whole.seek(0)
                shutil.copyfileobj(whole, fp, _COPY_BLOCK)
        else:
            # Scratch files beside the output, not in /tmp: the same disk has room for them, and /tmp may be in memory.
            _write(fp, header, meta, icc, planes, masks, partial(tempfile.TemporaryFile, dir=Path(fp.name).parent),
                   refine)
    return None


def _write(fp: IO[bytes], header: container.Header, meta: bytes, icc: bytes, planes: inputs.Planes,
           masks: inputs.Masks, scratch: Callable[[], IO[bytes]], refine: int = 0) -> None:
    """Code the planes into ``fp`` in the file's order, one tile at a time."""
    writer = container.Writer(fp, header, meta, icc)
    with ExitStack() as stack:
        # Each plane's layers are made right after its base, from the latent in hand, but the file puts them after
        # every base and the masks: they wait in a scratch file per layer and are copied into place at the end.
        spills = [stack.enter_context(scratch()) for _ in header.layers]
        spans: list[list[tuple[int, int]]] = [[] for _ in header.layers]
        for p in range(planes.count):
            base_data, tiles, digests = encode_plane(planes.plane(p), masks.region(p % masks.count), header, refine)
            writer.add(container.BASE, base_data)
            if not spills:
                continue
            starts = [s.tell() for s in spills]
            for payloads in tiles:
                for spill, payload in zip(spills, payloads):
                    spill.write(ladder.tile_entry(payload))
            for spill, digest in zip(spills, digests):
                if digest is not None:  # a verified layer's table ends with its ROI pixels' SHA-256
                    spill.write(digest.digest())
            for layer, spill, start in zip(spans, spills, starts):
                layer.append((start, spill.tell() - start))
        if spills:
            for m in range(masks.count):
                with writer.chunk(container.MASK) as sink:
                    masks.pack_into(m, sink.write, header.bits == 16)
            for layer, spill in zip(spans, spills):
                for start, length in layer:
                    with writer.chunk(container.LAYER) as sink:
                        _copy(spill, start, length, sink.write)
    writer.close()


def encode_plane(plane: inputs.Plane, region: roimask.Region, header: container.Header, refine: int = 0
                 ) -> tuple[bytes, Iterator[list[bytes]], list[Any]]:
    """One plane's base payload, then (lazily) each tile's enhancement payloads, one per layer, in the base's tile
    order, and one SHA-256 per verified layer (``None`` for the others), complete once the tiles are drawn.
    :func:`roicodec.reader.decode_plane` is its inverse."""
    base_data, base_layer = base.encode(plane.base_view(), header.model_name, header.tile, refine)
    digests = [hashlib.sha256() if layer.verified else None for layer in header.layers]

    def tiles() -> Iterator[list[bytes]]:
        # The layers' codecs (AVIF above all, most of an encode's time when the ROI is large) run in worker threads,
        # several tiles at once, while this thread reads the image and the mask and synthesises the base, in tile
        # order. Each tile's payloads are what one thread would make, and the digests take each tile's ROI pixels
        # in tile order, so the file's bytes do not depend on the number of workers.
        workers = min(layer_codecs.codec_threads(), MAX_TILES_AT_ONCE)
        pool = ThreadPoolExecutor(workers, thread_name_prefix="roicodec-layers")
        pending: deque[tuple[Future[list[bytes]], list[_Recorder | None]]] = deque()
        try:
            for i, (ys, xs, *_) in enumerate(base_layer.tiles):
                recorders = [None if d is None else _Recorder() for d in digests]
                pending.append((pool.submit(ladder.encode_tile, plane[ys, xs],
                                            intensity.native(base_layer.tile(i), plane.mapping), region(ys, xs),
                                            header.layers, recorders), recorders))
                if len(pending) >= workers:  # this thread makes the next tile ready while the workers code
                    yield _collect(*pending.popleft(), digests)
            while pending:
                yield _collect(*pending.popleft(), digests)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    return base_data, tiles(), digests


class _Recorder:
    """Stands in for a tile's digest in a worker: keeps what the tile adds, for the plane's digest in tile order."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def update(self, data: bytes) -> None:
        self.parts.append(data)


def _collect(job: Future[list[bytes]], recorders: list[_Recorder | None], digests: list[Any]) -> list[bytes]:
    payloads = job.result()
    for digest, recorder in zip(digests, recorders):
        if digest is not None and recorder is not None:
            for part in recorder.parts:
                digest.update(part)
    return payloads


def _copy(src: IO[bytes], start: int, length: int, write: Callable[[bytes], object]) -> None:
    src.seek(start)
    while length:
        block = src.read(min(length, _COPY_BLOCK))
        if not block:
            raise OSError(f"scratch file ended {length} bytes early")
        write(block)
        length -= len(block)


def pack_meta(metadata: Mapping[str, Any] | None) -> bytes:
    """A description as the file's metadata chunk holds it: compact, sorted JSON (empty for none)."""
    if not metadata:
        return b""
    try:
        data = json.dumps(dict(metadata), separators=(",", ":"), sort_keys=True, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise RoiError(f"metadata is not JSON-serialisable ({exc}): pass str, number, bool, list and dict values") from None
    if len(data) > container.MAX_META:
        raise RoiError(f"metadata takes {len(data)} bytes, more than {container.MAX_META}: keep it to a description")
    return data


def check_profile(icc: bytes) -> bytes:
    """``icc`` if it is an ICC profile the file can hold (or empty); else one line that says so."""
    if icc:
        try:
            container.check_icc(icc)
        except ValueError as exc:
            raise RoiError(f"icc_profile holds {exc}: pass the profile's bytes (e.g. a PIL image's "
                           "info['icc_profile']), or b'' for none") from None
    return icc


def redescribe(source: reader.Source, metadata: Mapping[str, Any] | None) -> bytes:
    """The same coded image under a new description (``metadata``); no pixel is decoded or coded again. Its colour
    profile stays.

    A truncated file comes out whole, holding the levels it had.
    """
    with reader.RoiFile(source) as f:
        layout = f.layout
        payloads = container.read_payloads(f._fp, layout, layout.levels_available - 1)
        icc = f.icc_profile or b""
    count = layout.header.plane_count
    flat = payloads[container.LAYER]
    layers = [flat[i:i + count] for i in range(0, len(flat), count)]
    header = replace(layout.header, layers=layout.header.layers[:len(layers)])
    masks = payloads[container.MASK] if layers else []
    return container.pack(header, payloads[container.BASE], masks, layers, pack_meta(metadata), icc)

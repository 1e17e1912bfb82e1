"""A loaded base-layer model: transforms plus coding tables, run tile by tile so that memory stays bounded.

Tiles overlap by a halo wider than the transforms' receptive field and only their centres are kept, so tiling leaves
no seams. Encoder and decoder walk the same tile grid (its size is in the file's header), so the decoder reproduces
exactly the base that the encoder measured its residuals against, and the base never has to exist whole: the codec
synthesises it a tile at a time and refines each tile with its enhancement layers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from roicodec.models import PREVIEW_SCALE, STRIDE, runtime
from roicodec.models.entropy import LatentCoder
from roicodec.models.hyper_coder import HyperpriorCoder

HALO = 4
"""Latent cells (64 pixels) of context on each side of a tile; the encoder's receptive field is 61 pixels."""
SYNTHESIS_HALO = (1, 2)
"""Latent cells of context before and after (above and left, below and right) what the decoder synthesises: pixels of
cell ``c`` depend on latent cells ``c - 1`` to ``c + 2`` (four stride-2 layers, each reaching one cell of its input
to one side and two to the other; tests/models/test_base_model.py checks every shipped graph)."""
BLOCK = 24
"""Most latent cells, with context, along each side of what the decoder synthesises at once (384 x 384 pixels, 336
x 336 of them kept): about 70 MB of activations for the rd family whatever the tile size, so that a 1-megapixel
image loads in under 200 MB; smaller blocks repeat more context, larger ones hold more memory and were no faster."""


def cuts(start: int, stop: int, most: int) -> list[int]:
    """The bounds of the fewest runs of at most ``most`` cells that cover ``start:stop``, of sizes that differ by at
    most one: a tile of 64 cells goes as 16, 16, 16, 16, not 21, 21, 21, 1, for the same context repeated, and the
    largest block, which sets the memory, is smaller (a 1.1 MP load peaked at 160 MB against 189 MB)."""
    n = max(1, -(-(stop - start) // most))
    return [start + (stop - start) * k // n for k in range(n + 1)]


def grid(h: int, w: int, tile: int) -> Iterator[tuple[slice, slice, slice, slice]]:
    """Yield (rows, cols) of each tile in latent cells, and the same with the halo added, clipped to the latent."""
    for y in range(0, h, tile):
        for x in range(0, w, tile):
            core = slice(y, min(y + tile, h)), slice(x, min(x + tile, w))
            outer = slice(max(y - HALO, 0), min(y + tile + HALO, h)), slice(max(x - HALO, 0), min(x + tile + HALO, w))
            yield *core, *outer


def analysis_input(image: np.ndarray, oy: slice, ox: slice) -> np.ndarray:
    """The pixels ``g_a`` sees for the latent cells ``oy`` x ``ox`` (a tile with its halo): ``HxWx3`` uint8, gray
    repeated, the image's last pixels repeated over its edge. Each tile is padded and widened, not the image, so that
    a gigapixel image is never copied whole."""
    y0, y1, x0, x1 = oy.start * STRIDE, oy.stop * STRIDE, ox.start * STRIDE, ox.stop * STRIDE
    pix = image[y0:y1, x0:x1]
    pix = np.pad(pix, ((0, y1 - y0 - pix.shape[0]), (0, x1 - x0 - pix.shape[1]), (0, 0)), mode="edge")
    if pix.shape[2] == 1:
        pix = np.repeat(pix, 3, axis=2)
    return np.ascontiguousarray(pix, np.uint8)


class BaseModel:
    """A weight file's transforms (graphs of :mod:`roicodec.models.runtime`, made when first needed: a reader never
    builds the encoder's) and its latent coder."""

    def __init__(self, meta: dict[str, Any], arrays: Mapping[str, np.ndarray], graphs: Path | None = None) -> None:
        """``graphs``: the folder of the graphs (default: the package's). ``arrays`` may read lazily
        (:func:`roicodec.models.store.read`): a part's parameters are taken when its graph is first made."""
        self.meta = meta
        self._folder = graphs
        self.architecture = meta["architecture"]
        self.config = dict(meta.get("config", {"latent_channels": meta["latent_channels"]}))
        self.latent_channels = int(meta["latent_channels"])
        self._arrays = arrays
        self._graphs: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
        self._lock = threading.Lock()
        self.coder: LatentCoder | HyperpriorCoder
        if self.architecture == "HyperpriorAutoencoder":
            self.coder = HyperpriorCoder(meta, arrays, lambda: self._graph("h_a"))
        else:
            freqs = [arrays[f"freq/{c}"] for c in range(self.latent_channels)]
            self.coder = LatentCoder(arrays["offsets"], freqs)
        self._preview: Mapping[str, np.ndarray] | None = None

    def _graph(self, part: str) -> Callable[[np.ndarray], np.ndarray]:
        with self._lock:
            if part not in self._graphs:
                if part == "preview":
                    assert self._preview is not None
                    latent, width = self._preview["param/net.0.weight"].shape[:2]
                    config = {"latent_channels": int(latent), "width": int(width)}
                    self._graphs[part] = runtime.Graph("PreviewHead", config, part,
                                                       runtime.parameters(self._preview), self._folder)
                else:
                    self._graphs[part] = runtime.Graph(self.architecture, self.config, part,
                                                       runtime.parameters(self._arrays, runtime.PREFIX[part] + "."),
                                                       self._folder)
            return self._graphs[part]

    def prepare(self, part: str) -> None:
        """Make ``part``'s graph ahead of its first use (in another thread, say); a failure is left for that use to
        raise."""
        try:
            self._graph(part)
        except Exception:  # noqa: BLE001 - the first real use builds it again and raises with its context
            pass

    @property
    def arrays(self) -> Mapping[str, np.ndarray]:
        """The weight file's arrays (a borrowed transform's included)."""
        return self._arrays

    @property
    def has_preview(self) -> bool:
        return self._preview is not None

    def attach_preview(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Take the preview head's parameters (a separate weight file made for these exact weights; read when the
        first preview is made)."""
        self._preview = arrays

    def code(self, latent: np.ndarray, z: np.ndarray | None = None) -> tuple[bytes, np.ndarray]:
        """The base payload of a latent, and the latent the decoder will read from it (symbols beyond the coding
        tables clamped): synthesise the encoder's base from the latter. ``z``: a hyperprior model's hyper-latent, when
        it is not ``h_a`` of this latent (:mod:`roicodec.models.refine` keeps the one its tables came from)."""
        return self.coder.code(latent) if z is None else self.coder.code(latent, z)  # type: ignore[call-arg]

    def uncode(self, data: bytes, height: int, width: int) -> np.ndarray:
        """The latent of a base payload for an image of ``height`` x ``width``."""
        return self.coder.uncode(data, self.latent_shape(height, width))

    @staticmethod
    def latent_shape(height: int, width: int) -> tuple[int, int]:
        return -(-height // STRIDE), -(-width // STRIDE)

    def analyse(self, image: np.ndarray, tile: int) -> np.ndarray:
        """The rounded latent of an ``HxWxC`` uint8 image (C 1 or 3; gray goes in as three equal channels)."""
        g_a = self._graph("g_a")
        h, w = image.shape[:2]
        lh, lw = self.latent_shape(h, w)
        # int16 holds every symbol a coding table can have (the coder clamps to its tables) at half int32's memory:
        # with 96 channels at 1/16 of each side the latent is the one array that grows with the plane.
        latent = np.empty((self.latent_channels, lh, lw), np.int16)
        for ry, rx, oy, ox in grid(lh, lw, tile // STRIDE):
            y = np.clip(g_a(analysis_input(image, oy, ox)[None])[0], -32768, 32767)
            latent[:, ry, rx] = y[:, ry.start - oy.start:ry.stop - oy.start, rx.start - ox.start:rx.stop - ox.start]
        return latent

    @staticmethod
    def tiles(height: int, width: int, tile: int) -> list[tuple[slice, slice, slice, slice, slice, slice]]:
        """Each tile as (pixel rows, pixel cols, latent rows, latent cols, the same with halo), row-major."""
        out = []
        for ry, rx, oy, ox in grid(*BaseModel.latent_shape(height, width), tile // STRIDE):
            ys = slice(ry.start * STRIDE, min(ry.stop * STRIDE, height))
            xs = slice(rx.start * STRIDE, min(rx.stop * STRIDE, width))
            out.append((ys, xs, ry, rx, oy, ox))
        return out

    def synthesise_tile(self, latent: np.ndarray, tile: tuple[slice, ...], unneeded: np.ndarray | None = None
                        ) -> np.ndarray:
        """The base image over one of :meth:`tiles`: ``(rows, cols, 3)`` uint8, the same on encoder and decoder.
        ``unneeded`` (``(rows, cols)`` bool): pixels whose base nobody will look at (those a checked level replaces);
        a block of the decoder's that holds only such pixels is not run, and its pixels are 0."""
        ys, xs, ry, rx, _, _ = tile
        img = _synthesise(self._graph("g_s"), latent, ry, rx, STRIDE, unneeded)
        return img[:ys.stop - ys.start, :xs.stop - xs.start]

    def preview(self, data: bytes, height: int, width: int, tile: int) -> np.ndarray | None:
        """The base image at 1/``PREVIEW_SCALE`` of its size from the small preview head, or ``None`` without one."""
        if self._preview is None:
            return None
        s = PREVIEW_SCALE
        latent = self.coder.uncode(data, self.latent_shape(height, width))
        h, w = -(-height // s), -(-width // s)
        stride = STRIDE // s
        head = self._graph("preview")
        out = np.empty((h, w, 3), np.uint8)
        for ry, rx, _, _ in grid(*latent.shape[1:], tile // STRIDE):
            y0, x0 = ry.start * stride, rx.start * stride
            y1, x1 = min(ry.stop * stride, h), min(rx.stop * stride, w)
            out[y0:y1, x0:x1] = _synthesise(head, latent, ry, rx, stride)[:y1 - y0, :x1 - x0]
        return out


def _synthesise(graph: Callable[[np.ndarray], np.ndarray], latent: np.ndarray, ry: slice, rx: slice,
                stride: int, unneeded: np.ndarray | None = None) -> np.ndarray:
    """``graph`` over the latent cells ``ry`` x ``rx``: ``stride`` pixels per cell, in blocks of at most :data:`BLOCK`
    cells a side with their :data:`SYNTHESIS_HALO` of context (:func:`cuts`), so that memory stays bounded whatever
    the tile size (square blocks repeat the least context for that memory)."""
    h, w = latent.shape[1:]
    before, after = SYNTHESIS_HALO
    core = BLOCK - before - after
    out = np.empty(((ry.stop - ry.start) * stride, (rx.stop - rx.start) * stride, 3), np.uint8)
    rows, cols = cuts(ry.start, ry.stop, core), cuts(rx.start, rx.stop, core)
    for b0, b1 in pairwise(rows):
        y0, y1 = max(b0 - before, 0), min(b1 + after, h)
        for c0, c1 in pairwise(cols):
            x0, x1 = max(c0 - before, 0), min(c1 + after, w)
            oy, ox = (b0 - ry.start) * stride, (c0 - rx.start) * stride
            if unneeded is not None:
                # The block's pixels that exist (its last cells may lie past the image's edge).
                kept = unneeded[oy:(b1 - ry.start) * stride, ox:(c1 - rx.start) * stride]
                if kept.size and kept.all():
                    out[oy:(b1 - ry.start) * stride, ox:(c1 - rx.start) * stride] = 0
                    continue
            img = graph(np.ascontiguousarray(latent[None, :, y0:y1, x0:x1], np.float32))[0]
            py, px = (b0 - y0) * stride, (c0 - x0) * stride
            out[oy:(b1 - ry.start) * stride, ox:(c1 - rx.start) * stride] \
                = img[py:py + (b1 - b0) * stride, px:px + (c1 - c0) * stride]
    return out

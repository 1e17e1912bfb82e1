"""The semantic base layer: the latent of the whole image, coded once, and the base image synthesised tile by tile.

Grayscale goes through the RGB model as three equal channels and comes back as ITU-R 601 luma, the same conversion
Pillow's ``convert("L")`` makes.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from roicodec.container import Header
from roicodec.errors import UnsupportedImageError
from roicodec.models import registry
from roicodec.models.base_model import BaseModel


def _luma(rgb: np.ndarray) -> np.ndarray:
    r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)[..., None]


class BaseLayer:
    """A decoded latent that yields the base image one tile at a time (``HxWxC`` pieces, C as the image)."""

    def __init__(self, model: Any, latent: np.ndarray, height: int, width: int, tile: int, gray: bool) -> None:
        self._model, self._latent, self._gray = model, latent, gray
        self.tiles = model.tiles(height, width, tile)
        """Each tile's (pixel rows, pixel cols, ...), row-major; the enhancement layers use the same grid."""

    def tile(self, index: int, unneeded: np.ndarray | None = None) -> np.ndarray:
        """The base image over tile ``index``, a new ``(rows, cols, C)`` uint8 array; where ``unneeded`` (a bool
        mask of the tile) is true the base may be left unmade (0): see ``BaseModel.synthesise_tile``."""
        rgb = self._model.synthesise_tile(self._latent, self.tiles[index], unneeded)
        return _luma(rgb) if self._gray else np.array(rgb)


def tiles(header: Header) -> list[tuple[slice, ...]]:
    """A file's tile grid, as :attr:`BaseLayer.tiles`, known from its header before any payload is decoded."""
    return BaseModel.tiles(header.height, header.width, header.tile)


def encode(image: np.ndarray, model_name: str, tile: int, refine: int = 0) -> tuple[bytes, BaseLayer]:
    """Code ``image`` (``HxWxC`` uint8, C 1 or 3); return the payload and the base the decoder will rebuild.
    ``refine``: steps of :func:`roicodec.models.refine.refine` on the latent (0: ``g_a``'s latent as it is)."""
    model = registry.load(model_name)
    latent = model.analyse(image, tile)
    h, w, c = image.shape
    z = None
    if refine:
        from roicodec.models.refine import refine as refined

        latent, z = refined(model, image, latent, refine, tile)
    data, latent = model.code(latent, z)
    return data, BaseLayer(model, latent, h, w, tile, c == 1)


def decode(data: bytes, header: Header) -> BaseLayer:
    """The base layer of a payload, ready to synthesise."""
    model = registry.load(header.model_name, header.model_hash)
    # The synthesis graph is made while the latent is entropy decoded: both run mostly on one core, and each left the
    # other's core idle. A graph that fails to build is built again, and raises, when the first tile needs it.
    warm = threading.Thread(target=model.prepare, args=("g_s",), name="roicodec-graph")
    warm.start()
    try:
        latent = model.uncode(data, header.height, header.width)
    finally:
        warm.join()
    return BaseLayer(model, latent, header.height, header.width, header.tile, header.mode == "L")


def preview(data: bytes, header: Header) -> np.ndarray:
    """The base image at 1/4 size from the model's preview head (``HxWxC`` uint8)."""
    model = registry.load(header.model_name, header.model_hash)
    img = model.preview(data, header.height, header.width, header.tile)
    if img is None:
        raise UnsupportedImageError(f"base model {header.model_name!r} has no preview head: decode the full image")
    return _luma(img) if header.mode == "L" else img

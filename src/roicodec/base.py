"""The semantic base layer: the whole image through the shared autoencoder, whatever its mode.

Grayscale goes through the RGB model as three equal channels and comes back as ITU-R 601 luma, the same conversion
Pillow's ``convert("L")`` makes.
"""

from __future__ import annotations

import numpy as np

from roicodec.container import Header
from roicodec.errors import UnsupportedImageError
from roicodec.models import registry


def _luma(rgb: np.ndarray) -> np.ndarray:
    r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)[..., None]


def encode(image: np.ndarray, model_name: str, tile: int) -> tuple[bytes, np.ndarray]:
    """Code ``image`` (``HxWxC`` uint8, C 1 or 3); return the payload and the base image the decoder will rebuild."""
    model = registry.load(model_name)
    rgb = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image
    data, base = model.encode(rgb, tile)
    return data, _luma(base) if image.shape[2] == 1 else base


def decode(data: bytes, header: Header) -> np.ndarray:
    """Rebuild the ``HxWxC`` uint8 base image from its payload."""
    model = registry.load(header.model_name, header.model_hash)
    base = model.decode(data, header.height, header.width, header.tile)
    return _luma(base) if header.mode == "L" else base


def preview(data: bytes, header: Header) -> np.ndarray:
    """The base image at 1/4 size from the model's preview head (``HxWxC`` uint8)."""
    model = registry.load(header.model_name, header.model_hash)
    img = model.preview(data, header.height, header.width, header.tile)
    if img is None:
        raise UnsupportedImageError(f"base model {header.model_name!r} has no preview head: decode the full image")
    return _luma(img) if header.mode == "L" else img

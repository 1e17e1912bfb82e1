"""A loaded base-layer model: transforms plus coding tables, run tile by tile so that memory stays bounded.

Tiles overlap by a halo wider than the transforms' receptive field and only their centres are kept, so tiling leaves
no seams. Encoder and decoder walk the same tile grid (its size is in the file's header), so the decoder reproduces
exactly the base that the encoder measured its residuals against.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from roicodec.models.entropy import LatentCoder
from roicodec.models.paper_ae import STRIDE, PaperAutoencoder
from roicodec.models.preview import PREVIEW_SCALE, PreviewHead

HALO = 4
"""Latent cells (64 pixels) of context on each side of a tile; the encoder's receptive field is 61 pixels."""


def _grid(h: int, w: int, tile: int) -> Iterator[tuple[slice, slice, slice, slice]]:
    """Yield (rows, cols) of each tile in latent cells, and the same with the halo added, clipped to the latent."""
    for y in range(0, h, tile):
        for x in range(0, w, tile):
            core = slice(y, min(y + tile, h)), slice(x, min(x + tile, w))
            outer = slice(max(y - HALO, 0), min(y + tile + HALO, h)), slice(max(x - HALO, 0), min(x + tile + HALO, w))
            yield *core, *outer


class BaseModel:
    def __init__(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.meta = meta
        self.net = PaperAutoencoder(latent_channels=meta["latent_channels"])
        state = {k.removeprefix("param/"): torch.from_numpy(v) for k, v in arrays.items() if k.startswith("param/")}
        self.net.load_state_dict(state)
        self.net.eval()
        freqs = [arrays[f"freq/{c}"] for c in range(meta["latent_channels"])]
        self.coder = LatentCoder(arrays["offsets"], freqs)
        self.preview_head: PreviewHead | None = None

    def attach_preview(self, arrays: dict[str, np.ndarray]) -> None:
        """Load the preview head's parameters (a separate weight file made for these exact weights)."""
        head = PreviewHead(self.net.latent_channels)
        head.load_state_dict({k.removeprefix("param/"): torch.from_numpy(v) for k, v in arrays.items()
                              if k.startswith("param/")})
        self.preview_head = head.eval()

    @staticmethod
    def latent_shape(height: int, width: int) -> tuple[int, int]:
        return -(-height // STRIDE), -(-width // STRIDE)

    @torch.inference_mode()
    def encode(self, rgb: np.ndarray, tile: int) -> tuple[bytes, np.ndarray]:
        """Code an ``HxWx3`` uint8 image; return the bytes and the base image that the decoder will produce."""
        h, w = rgb.shape[:2]
        lh, lw = self.latent_shape(h, w)
        latent = np.empty((self.net.latent_channels, lh, lw), np.int32)
        for ry, rx, oy, ox in _grid(lh, lw, tile // STRIDE):
            # Pad each tile, not the image, so that a gigapixel image is never copied whole.
            y0, y1, x0, x1 = oy.start * STRIDE, oy.stop * STRIDE, ox.start * STRIDE, ox.stop * STRIDE
            pix = rgb[y0:y1, x0:x1]
            pix = np.pad(pix, ((0, y1 - y0 - pix.shape[0]), (0, x1 - x0 - pix.shape[1]), (0, 0)), mode="edge")
            x = torch.from_numpy(np.ascontiguousarray(pix)).permute(2, 0, 1)[None].float().div_(255.0)
            y = torch.round(self.net.g_a(x))[0].numpy()
            latent[:, ry, rx] = y[:, ry.start - oy.start:ry.stop - oy.start, rx.start - ox.start:rx.stop - ox.start]
        data = self.coder.encode(latent)
        return data, self._synthesise(latent, h, w, tile)

    def decode(self, data: bytes, height: int, width: int, tile: int) -> np.ndarray:
        """Decode the bytes of :meth:`encode` back to the ``HxWx3`` uint8 base image."""
        return self._synthesise(self.coder.decode(data, self.latent_shape(height, width)), height, width, tile)

    def preview(self, data: bytes, height: int, width: int, tile: int) -> np.ndarray | None:
        """The base image at 1/``PREVIEW_SCALE`` of its size from the small preview head, or ``None`` without one."""
        if self.preview_head is None:
            return None
        s = PREVIEW_SCALE
        latent = self.coder.decode(data, self.latent_shape(height, width))
        return self._synthesise(latent, -(-height // s), -(-width // s), tile, self.preview_head, STRIDE // s)

    @torch.inference_mode()
    def _synthesise(self, latent: np.ndarray, h: int, w: int, tile: int, synthesis: torch.nn.Module | None = None,
                    stride: int = STRIDE) -> np.ndarray:
        """Run ``synthesis`` (default: the decoder) over the latent's tiles; each latent cell gives ``stride`` pixels."""
        synthesis = synthesis or self.net.g_s
        out = np.empty((h, w, 3), np.uint8)
        for ry, rx, oy, ox in _grid(*latent.shape[1:], tile // STRIDE):
            y = torch.from_numpy(np.ascontiguousarray(latent[:, oy, ox], np.float32))[None]
            img = synthesis(y)[0].mul_(255.0).round_().to(torch.uint8).permute(1, 2, 0).numpy()
            py, px = (ry.start - oy.start) * stride, (rx.start - ox.start) * stride
            y0, x0 = ry.start * stride, rx.start * stride
            y1, x1 = min(ry.stop * stride, h), min(rx.stop * stride, w)
            out[y0:y1, x0:x1] = img[py:py + y1 - y0, px:px + x1 - x0]
        return out

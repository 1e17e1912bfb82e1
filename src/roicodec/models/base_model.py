"""A loaded base-layer model: transforms plus coding tables, run tile by tile so that memory stays bounded.

Tiles overlap by a halo wider than the transforms' receptive field and only their centres are kept, so tiling leaves
no seams. Encoder and decoder walk the same tile grid (its size is in the file's header), so the decoder reproduces
exactly the base that the encoder measured its residuals against, and the base never has to exist whole: the codec
synthesises it a tile at a time and refines each tile with its enhancement layers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from roicodec.models.entropy import LatentCoder
from roicodec.models.factorized import FactorizedAutoencoder
from roicodec.models.paper_ae import STRIDE, PaperAutoencoder
from roicodec.models import PREVIEW_SCALE
from roicodec.models.preview import PreviewHead

HALO = 4
"""Latent cells (64 pixels) of context on each side of a tile; the encoder's receptive field is 61 pixels."""

ARCHITECTURES: dict[str, type[torch.nn.Module]] = {
    "PaperAutoencoder": PaperAutoencoder,
    "FactorizedAutoencoder": FactorizedAutoencoder,
}
"""Every architecture shares the paper's geometry (four stride-2 5x5 layers, latent at 1/16), hence one grid."""


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
        self.net = ARCHITECTURES[meta["architecture"]](**meta.get("config", {"latent_channels": meta["latent_channels"]}))
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
    def analyse(self, image: np.ndarray, tile: int) -> np.ndarray:
        """The rounded latent of an ``HxWxC`` uint8 image (C 1 or 3; gray goes in as three equal channels)."""
        h, w = image.shape[:2]
        lh, lw = self.latent_shape(h, w)
        # int16 holds every symbol a coding table can have (the coder clamps to its tables) at half int32's memory:
        # with 96 channels at 1/16 of each side the latent is the one array that grows with the plane.
        latent = np.empty((self.net.latent_channels, lh, lw), np.int16)
        for ry, rx, oy, ox in _grid(lh, lw, tile // STRIDE):
            # Pad and widen each tile, not the image, so that a gigapixel image is never copied whole.
            y0, y1, x0, x1 = oy.start * STRIDE, oy.stop * STRIDE, ox.start * STRIDE, ox.stop * STRIDE
            pix = image[y0:y1, x0:x1]
            pix = np.pad(pix, ((0, y1 - y0 - pix.shape[0]), (0, x1 - x0 - pix.shape[1]), (0, 0)), mode="edge")
            if pix.shape[2] == 1:
                pix = np.repeat(pix, 3, axis=2)
            x = torch.from_numpy(np.ascontiguousarray(pix)).permute(2, 0, 1)[None].float().div_(255.0)
            y = torch.round(self.net.g_a(x))[0].clamp_(-32768, 32767).numpy()
            latent[:, ry, rx] = y[:, ry.start - oy.start:ry.stop - oy.start, rx.start - ox.start:rx.stop - ox.start]
        return latent

    @staticmethod
    def tiles(height: int, width: int, tile: int) -> list[tuple[slice, slice, slice, slice, slice, slice]]:
        """Each tile as (pixel rows, pixel cols, latent rows, latent cols, the same with halo), row-major."""
        out = []
        for ry, rx, oy, ox in _grid(*BaseModel.latent_shape(height, width), tile // STRIDE):
            ys = slice(ry.start * STRIDE, min(ry.stop * STRIDE, height))
            xs = slice(rx.start * STRIDE, min(rx.stop * STRIDE, width))
            out.append((ys, xs, ry, rx, oy, ox))
        return out

    @torch.inference_mode()
    def synthesise_tile(self, latent: np.ndarray, tile: tuple[slice, ...]) -> np.ndarray:
        """The base image over one of :meth:`tiles`: ``(rows, cols, 3)`` uint8, the same on encoder and decoder."""
        ys, xs, ry, rx, oy, ox = tile
        y = torch.from_numpy(np.ascontiguousarray(latent[:, oy, ox], np.float32))[None]
        img = self.net.g_s(y)[0].mul_(255.0).round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
        py, px = (ry.start - oy.start) * STRIDE, (rx.start - ox.start) * STRIDE
        return img[py:py + ys.stop - ys.start, px:px + xs.stop - xs.start]

    def preview(self, data: bytes, height: int, width: int, tile: int) -> np.ndarray | None:
        """The base image at 1/``PREVIEW_SCALE`` of its size from the small preview head, or ``None`` without one."""
        if self.preview_head is None:
            return None
        s = PREVIEW_SCALE
        latent = self.coder.decode(data, self.latent_shape(height, width))
        return self._synthesise(latent, -(-height // s), -(-width // s), tile, self.preview_head, STRIDE // s)

    @torch.inference_mode()
    def _synthesise(self, latent: np.ndarray, h: int, w: int, tile: int, synthesis: torch.nn.Module,
                    stride: int) -> np.ndarray:
        """Run ``synthesis`` over the latent's tiles into one image; each latent cell gives ``stride`` pixels."""
        out = np.empty((h, w, 3), np.uint8)
        for ry, rx, oy, ox in _grid(*latent.shape[1:], tile // STRIDE):
            y = torch.from_numpy(np.ascontiguousarray(latent[:, oy, ox], np.float32))[None]
            img = synthesis(y)[0].mul_(255.0).round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
            py, px = (ry.start - oy.start) * stride, (rx.start - ox.start) * stride
            y0, x0 = ry.start * stride, rx.start * stride
            y1, x1 = min(ry.stop * stride, h), min(rx.stop * stride, w)
            out[y0:y1, x0:x1] = img[py:py + y1 - y0, px:px + x1 - x0]
        return out

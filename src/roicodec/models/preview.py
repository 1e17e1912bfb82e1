"""A small head that turns the base layer's latent into a 1/4-size preview without running the full decoder.

Thumbnails (Pillow's ``draft``/``thumbnail``) need a small image fast; the decoder's last layers, at full and half
resolution, cost nearly all of a full decode. The head is distilled from the decoder: trained so that its output
matches the decoded base, 4x4-averaged, on BSDS500 crops (``python -m training.preview``).
"""

from __future__ import annotations

import torch
from torch import nn


class PreviewHead(nn.Module):
    """Two transposed convolutions: latent (1/16) to RGB at 1/4 resolution."""

    def __init__(self, latent_channels: int = 8, width: int = 48) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(latent_channels, width, 5, stride=2, padding=2, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(width, 3, 5, stride=2, padding=2, output_padding=1), nn.Sigmoid(),
        )

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.net(y)

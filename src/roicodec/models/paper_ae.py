"""The paper's convolutional autoencoder: the semantic (base) layer's transforms.

The paper gives the recipe (ReLU inside, sigmoid output, binary cross-entropy) but not the widths; these are the
widths that the calibration in docs/measures.md measured: four stride-2 5x5 convolutions down to an 8-channel latent
at 1/16 of the image's resolution, mirrored by four transposed convolutions.
"""

from __future__ import annotations

import torch
from torch import nn


class PaperAutoencoder(nn.Module):
    """Encoder ``g_a`` maps RGB in [0, 1] to a real-valued latent; decoder ``g_s`` maps it back through a sigmoid."""

    def __init__(self, widths: tuple[int, int, int] = (32, 64, 64), latent_channels: int = 8) -> None:
        super().__init__()
        a, b, c = widths
        self.latent_channels = latent_channels
        self.g_a = nn.Sequential(
            nn.Conv2d(3, a, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(a, b, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(b, c, 5, stride=2, padding=2), nn.ReLU(),
            nn.Conv2d(c, latent_channels, 5, stride=2, padding=2),
        )
        self.g_s = nn.Sequential(
            nn.ConvTranspose2d(latent_channels, c, 5, stride=2, padding=2, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(c, b, 5, stride=2, padding=2, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(b, a, 5, stride=2, padding=2, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(a, 3, 5, stride=2, padding=2, output_padding=1), nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor, noise: bool = True) -> torch.Tensor:
        y = self.g_a(x)
        # Additive uniform noise stands in for rounding during training, so that the decoder learns to live with
        # the quantised latent it will see at coding time.
        y_hat = y + torch.empty_like(y).uniform_(-0.5, 0.5) if noise else torch.round(y)
        return self.g_s(y_hat)

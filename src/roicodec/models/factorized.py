"""The rate-distortion base models: GDN transforms with a factorised entropy model (Ballé et al. 2018, "bmshj2018
factorized"), trained with rate + lambda x distortion instead of for reconstruction alone.

The transforms keep the paper autoencoder's geometry (four stride-2 5x5 layers, latent at 1/16 of the resolution), so
both families share the tile grid, the halo and the coding path; only the layers and the training objective differ.
"""

from __future__ import annotations

from torch import nn

from roicodec.models.layers import GDN


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 5, stride=2, padding=2)


def _deconv(cin: int, cout: int) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(cin, cout, 5, stride=2, padding=2, output_padding=1)


class FactorizedAutoencoder(nn.Module):
    """``g_a``: RGB in [0, 1] to an ``M``-channel latent through ``N``-channel GDN layers; ``g_s`` back through IGDN.

    The synthesis output is linear (no sigmoid): the mean-squared error it is trained on wants it unbounded inside,
    and the codec clamps to [0, 255] when it rounds to 8 bits.
    """

    def __init__(self, channels: int = 64, latent_channels: int = 96) -> None:
        super().__init__()
        n, m = channels, latent_channels
        self.latent_channels = m
        self.g_a = nn.Sequential(_conv(3, n), GDN(n), _conv(n, n), GDN(n), _conv(n, n), GDN(n), _conv(n, m))
        self.g_s = nn.Sequential(_deconv(m, n), GDN(n, inverse=True), _deconv(n, n), GDN(n, inverse=True),
                                 _deconv(n, n), GDN(n, inverse=True), _deconv(n, 3))

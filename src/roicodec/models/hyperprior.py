"""The mean-scale hyperprior base models (Minnen et al. 2018, "mbt2018-mean", without its autoregressive context;
after Ballé et al. 2018's scale hyperprior): the rate-distortion family's GDN transforms, plus a hyper-latent ``z``
that describes each latent cell's distribution.

``z = round(h_a(y))`` is coded with a factorised model (as the ``rd`` family codes ``y``), and ``h_s(z)`` gives, for
every cell of ``y``, one of :data:`roicodec.models.gaussian.SCALES` and a mean in quarter steps to code it with. The encoder's ``h_a`` may run in
any floating-point order (its output is coded, not recomputed); ``h_s`` is an integer network
(:mod:`roicodec.models.integer`) so that the decoder recomputes the same indices bit for bit. This module holds the
torch side (training, export); coding is :mod:`roicodec.models.hyper_coder`, which needs no torch.
"""

from __future__ import annotations

from torch import nn

from roicodec.models.factorized import FactorizedAutoencoder


def hyper_analysis(latent_channels: int, channels: int) -> nn.Sequential:
    m, n = latent_channels, channels
    return nn.Sequential(nn.Conv2d(m, n, 3, padding=1), nn.ReLU(), nn.Conv2d(n, n, 5, stride=2, padding=2), nn.ReLU(),
                         nn.Conv2d(n, n, 5, stride=2, padding=2))


HYPER_SYNTHESIS = ({"transposed": True, "stride": 2, "padding": 2, "output_padding": 1, "kernel": 5},
                   {"transposed": True, "stride": 2, "padding": 2, "output_padding": 1, "kernel": 5},
                   {"transposed": False, "stride": 1, "padding": 0, "output_padding": 0, "kernel": 1})
"""``h_s``'s geometry: hyper-latent to latent resolution, then per latent cell a scale index and a mean (twice the
latent's channels). The last layer is 1x1, not Minnen's 3x3: it runs at the latent's resolution with twice its
channels, where a 3x3 kernel made four fifths of the decoder's integer arithmetic (multiply-adds per latent cell),
and the two 5x5 layers before it already see each cell's neighbourhood."""


class HyperpriorAutoencoder(FactorizedAutoencoder):
    """``g_a`` and ``g_s`` as the ``rd`` family's, and ``h_a``; ``h_s`` is not a torch module (it is integer)."""

    def __init__(self, channels: int = 64, latent_channels: int = 96, hyper_channels: int = 64) -> None:
        super().__init__(channels, latent_channels)
        self.hyper_channels = hyper_channels
        self.h_a = hyper_analysis(latent_channels, hyper_channels)

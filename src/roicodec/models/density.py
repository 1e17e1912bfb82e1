"""The learned entropy model of the rate-distortion base models: a factorised density per latent channel.

Ballé et al. 2018, appendix 6.1: each channel's cumulative distribution is a small monotone network of the latent
value, so the model fits any unimodal or skewed shape the transform settles on. Training asks it for the probability
mass of ``y + U(-0.5, 0.5)`` (the noisy stand-in for rounding); export turns it into integer counts per symbol, which
is what ships and what the range coder reads, so decoding never runs this network.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class FactorizedDensity(nn.Module):
    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0) -> None:
        super().__init__()
        dims = (1, *filters, 1)
        scale = init_scale ** (1 / (len(filters) + 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(filters) + 1):
            init = math.log(math.expm1(1 / scale / dims[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.empty(channels, dims[i + 1], 1).uniform_(-0.5, 0.5)))
            if i < len(filters):
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[i + 1], 1)))

    def _logits_cdf(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` as ``(C, 1, n)``; the logit of each channel's cumulative distribution at each value."""
        for i, (matrix, bias) in enumerate(zip(self.matrices, self.biases)):
            x = torch.matmul(F.softplus(matrix), x) + bias
            if i < len(self.factors):
                x = x + torch.tanh(self.factors[i]) * torch.tanh(x)
        return x

    def likelihood(self, y: torch.Tensor) -> torch.Tensor:
        """Probability mass of the interval ``[y - 0.5, y + 0.5]`` for every element of ``y`` (``B, C, H, W``)."""
        b, c, h, w = y.shape
        v = y.permute(1, 0, 2, 3).reshape(c, 1, -1)
        lower, upper = self._logits_cdf(v - 0.5), self._logits_cdf(v + 0.5)
        # Take the difference on the side of the distribution where it is not a difference of two numbers near 1.
        sign = -torch.sign(lower + upper).detach()
        p = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).clamp_min(1e-9)
        return p.reshape(c, b, h, w).permute(1, 0, 2, 3)

    @torch.no_grad()
    def tables(self, radius: int = 255, tail: float = 1e-7, precision: int = 16) -> tuple[np.ndarray, list[np.ndarray]]:
        """Per channel, the smallest symbol of its support and integer counts summing to about ``2**precision``.

        The support is every integer whose mass stays within ``tail`` of the edges; every symbol in it keeps a count of
        at least 1 so that any value the encoder meets inside it can be coded.
        """
        values = torch.arange(-radius, radius + 1, dtype=torch.float32)
        c = self.matrices[0].shape[0]
        pmf = self.likelihood(values.view(1, 1, 1, -1).expand(1, c, 1, -1).contiguous())[0, :, 0].double().numpy()
        offsets, freqs = [], []
        for row in pmf:
            cdf = np.cumsum(row)
            lo = int(np.searchsorted(cdf, tail))
            hi = int(np.searchsorted(cdf, cdf[-1] - tail))
            lo, hi = max(lo - 1, 0), min(hi + 1, len(row) - 1)
            counts = np.maximum(np.round(row[lo:hi + 1] / row[lo:hi + 1].sum() * 2 ** precision), 1).astype(np.uint32)
            offsets.append(lo - radius)
            freqs.append(counts)
        return np.asarray(offsets, np.int32), freqs

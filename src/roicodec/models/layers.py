"""Layers of the rate-distortion base models: generalised divisive normalisation (Ballé et al. 2016)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_PEDESTAL = 2.0 ** -36


class _LowerBound(torch.autograd.Function):
    """``max(x, bound)`` that still lets a gradient through where it would lift ``x`` back above the bound: a plain
    clamp would freeze a parameter for good the first time an update pushed it below."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, bound: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.bound = bound
        return x.clamp(min=bound)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad * ((x >= ctx.bound) | (grad < 0)).to(grad.dtype), None


def _non_negative(raw: torch.Tensor, minimum: float) -> torch.Tensor:
    # Parameters are stored as square roots so that small values (GDN's gamma lives near 0) still get useful steps.
    return _LowerBound.apply(raw, (minimum + _PEDESTAL) ** 0.5) ** 2 - _PEDESTAL


class GDN(nn.Module):
    """``x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)``, or its inverse (multiply instead of divide) in the decoder."""

    def __init__(self, channels: int, inverse: bool = False, beta_min: float = 1e-6, gamma_init: float = 0.1) -> None:
        super().__init__()
        self.inverse = inverse
        self.beta_min = beta_min
        self.beta = nn.Parameter(torch.sqrt(torch.ones(channels) + _PEDESTAL))
        self.gamma = nn.Parameter(torch.sqrt(gamma_init * torch.eye(channels) + _PEDESTAL))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        beta = _non_negative(self.beta, self.beta_min)
        gamma = _non_negative(self.gamma, 0.0)
        norm = F.conv2d(x * x, gamma[:, :, None, None], beta)
        return x * torch.sqrt(norm) if self.inverse else x * torch.rsqrt(norm)

"""The measures of DESIGN.md section 4, in one place: bpp from bytes, PSNR on 8-bit data with peak 255."""

from __future__ import annotations

import numpy as np


def bpp(nbytes: int, width: int, height: int) -> float:
    """Bits per pixel of ``nbytes`` over a ``width`` x ``height`` image."""
    return nbytes * 8 / (width * height)


def psnr(reference: np.ndarray, test: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR in dB of uint8 ``test`` against ``reference``, over the pixels where ``mask`` is true (all if ``None``).

    Identical inputs give ``inf``.
    """
    diff = reference.astype(np.float64) - test.astype(np.float64)
    if mask is not None:
        diff = diff[mask]
    mse = float(np.mean(diff * diff))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)

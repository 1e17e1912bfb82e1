"""The measures of DESIGN.md section 4, in one place: bpp from bytes, PSNR and SSIM on 8-bit data, BD-rate."""

from __future__ import annotations

from collections.abc import Sequence

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


SSIM_SIGMA = 1.5
_SSIM_PAD = int(3.5 * SSIM_SIGMA + 0.5)
"""Half of scikit-image's Gaussian window (truncated at 3.5 sigma): its mean SSIM leaves this border out."""


def ssim_map(reference: np.ndarray, test: np.ndarray,
             since: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Per-pixel SSIM of uint8 ``test`` against ``reference`` (Wang et al. 2004), averaged over channels.

    ``HxW`` float64, NaN on the border that scikit-image's mean SSIM leaves out, so that the mean of this map over
    every pixel is scikit-image's SSIM with DESIGN.md's settings. ``since`` is an earlier ``(test, map)`` pair for the
    same reference: only the window around the pixels that changed is recomputed, which gives the same map (a pixel's
    SSIM depends on pixels up to the window's half-width away) at the cost of the changed region, e.g. the ROI when a
    level refines only the ROI.
    """
    if reference.shape != test.shape:
        raise ValueError(f"images differ in shape: {reference.shape} and {test.shape}")
    if since is None:
        return _ssim_map(reference, test)
    before, smap = since
    changed = before != test
    if changed.ndim == 3:
        changed = changed.any(axis=2)
    smap = smap.copy()
    if not changed.any():
        return smap
    rows, cols = np.flatnonzero(changed.any(axis=1)), np.flatnonzero(changed.any(axis=0))
    h, w = changed.shape
    # Recompute over the changed box grown by two half-widths; keep the part at least a half-width inside that
    # window (or at the image's edge), where the window saw the same pixels as a whole-image pass would.
    p = _SSIM_PAD
    y0, y1 = max(int(rows[0]) - 2 * p, 0), min(int(rows[-1]) + 1 + 2 * p, h)
    x0, x1 = max(int(cols[0]) - 2 * p, 0), min(int(cols[-1]) + 1 + 2 * p, w)
    part = _ssim_map(reference[y0:y1, x0:x1], test[y0:y1, x0:x1])
    iy0, iy1 = (y0 + p if y0 else 0), (y1 - p if y1 < h else h)
    ix0, ix1 = (x0 + p if x0 else 0), (x1 - p if x1 < w else w)
    smap[iy0:iy1, ix0:ix1] = part[iy0 - y0:iy1 - y0, ix0 - x0:ix1 - x0]
    return smap


def _ssim_map(reference: np.ndarray, test: np.ndarray) -> np.ndarray:
    from skimage.metrics import structural_similarity  # scikit-image is the bench extra's, not a core dependency

    ref, tst = (a if a.ndim == 3 else a[..., None] for a in (reference, test))
    _, full = structural_similarity(ref, tst, gaussian_weights=True, sigma=SSIM_SIGMA, use_sample_covariance=False,
                                    data_range=255, channel_axis=2, full=True)
    smap = full.mean(axis=2)
    p = _SSIM_PAD
    border = np.ones(smap.shape, bool)
    border[p:smap.shape[0] - p, p:smap.shape[1] - p] = False
    smap[border] = np.nan
    return smap


def masked_mean(values: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean of the non-NaN ``values`` where ``mask`` is true (everywhere if ``None``); NaN if none is left."""
    picked = values if mask is None else values[mask]
    picked = picked[~np.isnan(picked)]
    return float(picked.mean()) if picked.size else float("nan")


def ssim(reference: np.ndarray, test: np.ndarray, mask: np.ndarray | None = None) -> float:
    """SSIM of uint8 ``test`` against ``reference`` over the pixels where ``mask`` is true (all if ``None``).

    Gaussian window sigma 1.5, data range 255, population covariances, per channel then averaged (DESIGN.md 4).
    ROI-SSIM averages the same per-pixel map over the ROI, so a full mask gives the whole-image SSIM exactly.
    """
    return masked_mean(ssim_map(reference, test), mask)


def bd_rate(anchor_rate: Sequence[float], anchor_quality: Sequence[float],
            test_rate: Sequence[float], test_quality: Sequence[float]) -> float:
    """Bjontegaard rate difference of test against anchor in percent (negative: test needs fewer bits).

    PCHIP through each curve, averaged over the quality range the two curves share (the ``bjontegaard`` package).
    Each curve is taken in rate order, keeping only points that raise quality, because PCHIP needs quality to rise
    strictly. NaN when the curves share no quality range.
    """
    import bjontegaard  # imports matplotlib: keep it out of ``import roicodec``

    a, t = monotone(anchor_rate, anchor_quality), monotone(test_rate, test_quality)
    if min(len(a[0]), len(t[0])) < 2 or quality_overlap(a[1], t[1]) == 0:
        return float("nan")
    return float(bjontegaard.bd_rate(a[0], a[1], t[0], t[1], method="pchip", require_matching_points=False,
                                     min_overlap=0))


def monotone(rate: Sequence[float], quality: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """The points of a rate-quality curve in rate order that each raise quality above every point before them."""
    order = np.argsort(np.asarray(rate, float), kind="stable")
    keep_r, keep_q = [], []
    for r, q in zip(np.asarray(rate, float)[order], np.asarray(quality, float)[order]):
        if np.isfinite(q) and r > 0 and (not keep_q or q > keep_q[-1]):
            keep_r.append(r)
            keep_q.append(q)
    return np.array(keep_r), np.array(keep_q)


def quality_overlap(anchor_quality: Sequence[float], test_quality: Sequence[float]) -> float:
    """Share of the two curves' joint quality span that both cover (0: disjoint, 1: the same span)."""
    a, t = np.asarray(anchor_quality, float), np.asarray(test_quality, float)
    span = max(a.max(), t.max()) - min(a.min(), t.min())
    common = min(a.max(), t.max()) - max(a.min(), t.min())
    return float(max(common, 0) / span) if span > 0 else 0.0

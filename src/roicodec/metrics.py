"""The measures of docs/measures.md, in one place: bpp from bytes, PSNR, SSIM and MS-SSIM on 8-bit data, BD-rate."""

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
    every pixel is scikit-image's SSIM with docs/measures.md's settings. ``since`` is an earlier ``(test, map)`` pair for the
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

    Gaussian window sigma 1.5, data range 255, population covariances, per channel then averaged (docs/measures.md).
    ROI-SSIM averages the same per-pixel map over the ROI, so a full mask gives the whole-image SSIM exactly.
    """
    return masked_mean(ssim_map(reference, test), mask)


MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
"""Wang, Simoncelli and Bovik 2003: the weight of each scale, finest first."""
_K1, _K2 = 0.01, 0.03
_GAUSS = np.exp(-0.5 * (np.arange(-_SSIM_PAD, _SSIM_PAD + 1) / SSIM_SIGMA) ** 2)
_GAUSS /= _GAUSS.sum()
"""The 11-tap window of sigma 1.5: scikit-image's (truncated at 3.5 sigma) and pytorch_msssim's alike."""


def ms_ssim_min_side(scales: int = len(MS_SSIM_WEIGHTS)) -> int:
    """The smallest height and width MS-SSIM takes: the coarsest scale must still hold one whole window."""
    return (len(_GAUSS) - 1) * 2 ** (scales - 1) + 1


def ms_ssim(reference: np.ndarray, test: np.ndarray, weights: Sequence[float] = MS_SSIM_WEIGHTS) -> float:
    """MS-SSIM of uint8 ``test`` against ``reference`` (Wang, Simoncelli and Bovik 2003), data range 255.

    As pytorch_msssim (the implementation CompressAI reports with) computes it: at each scale the same SSIM as
    :func:`ssim` (Gaussian window sigma 1.5, population covariances, the window wholly inside the image, which is
    scikit-image's mean without its border); the mean contrast-structure term at scales 1-4 and the mean SSIM
    (luminance x contrast-structure) at scale 5, each clamped at 0, raised to its weight and multiplied; 2x2 average
    pooling between scales (a side of odd length gets one zero row or column in front, as ``avg_pool2d`` with
    padding does); per channel, then averaged over channels. ``weights`` sets the scales: ``(1.0,)`` is plain SSIM.
    Raises ``ValueError`` on images smaller than :func:`ms_ssim_min_side` (161 pixels for 5 scales).
    """
    if reference.shape != test.shape:
        raise ValueError(f"images differ in shape: {reference.shape} and {test.shape}")
    need = ms_ssim_min_side(len(weights))
    if min(reference.shape[:2]) < need:
        raise ValueError(f"MS-SSIM over {len(weights)} scales needs images of at least {need}x{need} pixels, not "
                         f"{reference.shape[1]}x{reference.shape[0]}")
    x, y = (np.asarray(a, np.float64) for a in (reference, test))
    if x.ndim == 2:
        x, y = x[..., None], y[..., None]
    terms = []
    for scale in range(len(weights)):
        full, cs = _ssim_and_cs(x, y)
        if scale < len(weights) - 1:
            terms.append(np.maximum(cs, 0))
            x, y = _pool(x), _pool(y)
        else:
            terms.append(np.maximum(full, 0))
    per_channel = np.prod([t ** w for t, w in zip(terms, weights)], axis=0)
    return float(per_channel.mean())


def _blur(x: np.ndarray) -> np.ndarray:
    """The Gaussian window's weighted mean at every position where it fits wholly in ``x`` (HxWxC)."""
    from scipy.ndimage import correlate1d  # scipy comes with scikit-image, the bench extra's

    p = _SSIM_PAD
    rows = correlate1d(x, _GAUSS, axis=0, mode="constant")[p:x.shape[0] - p]
    return correlate1d(rows, _GAUSS, axis=1, mode="constant")[:, p:x.shape[1] - p]


def _ssim_and_cs(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per channel: the mean SSIM and the mean contrast-structure term over the window positions."""
    c1, c2 = (_K1 * 255) ** 2, (_K2 * 255) ** 2
    mx, my = _blur(x), _blur(y)
    vx, vy, cxy = _blur(x * x) - mx * mx, _blur(y * y) - my * my, _blur(x * y) - mx * my
    cs = (2 * cxy + c2) / (vx + vy + c2)
    full = (2 * mx * my + c1) / (mx * mx + my * my + c1) * cs
    return full.mean(axis=(0, 1)), cs.mean(axis=(0, 1))


def _pool(x: np.ndarray) -> np.ndarray:
    """2x2 mean with stride 2; an odd side gets a zero row or column in front (``avg_pool2d``, padding 1)."""
    x = np.pad(x, ((x.shape[0] % 2, 0), (x.shape[1] % 2, 0), (0, 0)))
    return (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2]) / 4


def ms_ssim_db(value: float | None) -> float | None:
    """MS-SSIM in dB, ``-10 log10(1 - value)``, as CompressAI plots it; None for None or an exact 1."""
    if value is None or not np.isfinite(value) or value >= 1:
        return None
    return float(-10 * np.log10(1 - value))


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


def quality_coverage(anchor_quality: Sequence[float], test_quality: Sequence[float]) -> float:
    """Share of the narrower curve's quality span that the other covers too: 1 when one curve lies within the other's
    range, so that a BD-rate over their common range compares the whole of it and extrapolates nothing."""
    a, t = np.asarray(anchor_quality, float), np.asarray(test_quality, float)
    narrow = min(a.max() - a.min(), t.max() - t.min())
    common = min(a.max(), t.max()) - max(a.min(), t.min())
    return float(max(common, 0) / narrow) if narrow > 0 else 0.0


def quality_overlap(anchor_quality: Sequence[float], test_quality: Sequence[float]) -> float:
    """Share of the two curves' joint quality span that both cover (0: disjoint, 1: the same span)."""
    a, t = np.asarray(anchor_quality, float), np.asarray(test_quality, float)
    span = max(a.max(), t.max()) - min(a.min(), t.min())
    common = min(a.max(), t.max()) - max(a.min(), t.min())
    return float(max(common, 0) / span) if span > 0 else 0.0

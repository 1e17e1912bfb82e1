"""How the page writes its names and the numbers that recur on it (bpp, dB, SSIM, ratios, times, percentages,
BD-rate cells), so that a kind of number reads the same in every section. A number written once, such as a range in
one sentence, keeps its format in that sentence."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from roicodec.bench.analysis import FULL_OVERLAP
from roicodec.metrics import ms_ssim_min_side

METRIC_NAMES = {"psnr": "PSNR", "roi_psnr": "ROI-PSNR", "ssim": "SSIM", "roi_ssim": "ROI-SSIM",
                "ms_ssim_db": "MS-SSIM (dB)"}
CODEC_NAMES = {"roicodec": "roicodec", "scalable-jpeg": "scalable JPEG", "jpeg2000": "JPEG 2000", "jpeg": "JPEG",
               "webp": "WebP", "avif": "AVIF", "base": "base layers alone"}
SHOWN_COVERAGE = 0.5
"""Below this share of the narrower curve's quality span in common, a BD-rate speaks for too little of either curve:
the page shows none. (BD-rate integrates over the common range only, so it never extrapolates.)"""
NO_MS_SSIM = f"n/a (no MS-SSIM: images under {ms_ssim_min_side()} pixels a side)"


def codec_name(codec: str) -> str:
    return CODEC_NAMES.get(codec, codec)


def size_title(size: str) -> str:
    return "full size" if size == "full" else f"{size} centre crops"


def code_list(names: Iterable[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def bpp(x: float) -> str:
    return f"{x:.3f}"


def db(x: float) -> str:
    return f"{x:.2f}"


def ssim(x: float) -> str:
    return f"{x:.3f}"


def ms_ssim(x: float) -> str:
    return f"{x:.4f}"


def ratio(x: float) -> str:
    """A ratio of rates, without its ``x``: table cells carry none."""
    return f"{x:.2f}"


def times(x: float) -> str:
    """A ratio of times: one decimal while the decimal still tells codecs apart."""
    return f"{x:.1f}x" if x < 10 else f"{x:.0f}x"


def share(x: float) -> str:
    return f"{100 * x:.0f} %"


def change(percent: float) -> str:
    return f"{percent:+.1f} %"


def about(percent: float) -> str:
    """A published BD-rate: those tables give whole percents at best."""
    return f"about {percent:+.0f} %"


def mp_s(x: float) -> str:
    return f"{x:.2f}"


def seconds(x: float) -> str:
    return f"{x:.3f}"


def minutes(s: float) -> str:
    return f"{s / 60:.1f}"


def optional(value: float | None, fmt: Callable[[float], str]) -> str:
    return "n/a" if value is None else fmt(value)


def bd_rate(entry: dict[str, Any]) -> str:
    """A BD-rate cell: the number, the band it speaks for when that is narrow, or why there is none."""
    if entry["bd_rate"] is None:
        return "n/a (no common range)" if entry["overlap"] == 0 else "n/a"
    # Rows of an older run have no coverage: their union-based overlap is the stricter test.
    if entry.get("coverage", entry["overlap"]) < SHOWN_COVERAGE:
        return f"n/a ({share(entry['overlap'])} overlap)"
    if entry["overlap"] >= FULL_OVERLAP:
        return change(entry["bd_rate"])
    return f"{change(entry['bd_rate'])} ({_band(entry)})"


def _band(entry: dict[str, Any]) -> str:
    common = entry.get("common_range")
    if common is None:
        return f"{share(entry['overlap'])} overlap"
    if common[1] <= 1:  # SSIM-like scores have no unit
        return f"over {common[0]:.3f}-{common[1]:.3f}"
    return f"over {common[0]:.1f}-{common[1]:.1f} dB"

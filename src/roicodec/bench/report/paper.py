""""The paper's table, reproduced": per size, the per-level bpp ratios at the PSNR-matched JPEG base beside the
paper's, which base quality would reach them, and the ratios over the whole sweep of base qualities."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from roicodec.bench.analysis import ROI, SCALABLE, curve
from roicodec.bench.plots import LEVEL_NAMES
from roicodec.bench.report import method
from roicodec.bench.report.formats import bpp, db, ratio, share, size_title, ssim
from roicodec.bench.report.markdown import figure, table


def section(summary: dict[str, Any], paper: dict[int, float], sizes: Sequence[str], ratios_figure: str) -> list[str]:
    blocks = ["## The paper's table, reproduced", _claim(paper)]
    for size in sizes:
        blocks += _size(size, summary[size], paper)
    return blocks + figure("Per-level bpp ratio against the JPEG base quality", ratios_figure,
                           "Scalable JPEG bpp / roicodec bpp at each level against the scalable JPEG's base quality; "
                           "dotted: the paper's ratios; dashed: the PSNR-matched base.")


def _claim(paper: dict[int, float]) -> str:
    return (f"The paper reports that its scalable JPEG baseline needs {paper[0]}x the bpp of its own codec at the "
            f"base layer and {paper[1]}x, {paper[2]}x, {paper[3]}x at ROI levels 1-3 (as docs/measures.md "
            "summarises the paper; it names no JPEG base quality). The ratio depends on that quality, so each table "
            "gives it at the PSNR-matched base and over the whole sweep.")


def _size(size: str, s: dict[str, Any], paper: dict[int, float]) -> list[str]:
    return [f"### {size_title(size).capitalize()}", method.matched_base(s["match"]), _levels(s, paper),
            _implied(s["ratios"]["paper_base_quality"], paper) + " " + _fit(s["ratios"]["paper_fit_quality"], paper),
            "How the ratios depend on the JPEG base quality:", _sweep(s)]


def _levels(s: dict[str, Any], paper: dict[int, float]) -> str:
    q = s["match"]["base_quality"]
    ours, theirs = curve(s["points"], ROI), curve(s["points"], SCALABLE, q)
    rows = [[LEVEL_NAMES[k], bpp(o["bpp"]), db(o["roi_psnr"]), ssim(o["roi_ssim"]), bpp(t["bpp"]),
             db(t["roi_psnr"]), ssim(t["roi_ssim"]), f"**{ratio(t['bpp'] / o['bpp'])}**", str(paper[k])]
            for k, (o, t) in enumerate(zip(ours, theirs))]
    return table(["level", "roicodec bpp", "ROI-PSNR (dB)", "ROI-SSIM", f"scalable JPEG q{q} bpp", "ROI-PSNR (dB)",
                  "ROI-SSIM", "ratio, ours", "ratio, paper"], "lrrrrrrrr", rows)


def _implied(implied: dict[str, Any], paper: dict[int, float]) -> str:
    """Which JPEG base quality the paper's base-layer ratio implies, if the sweep reaches it."""
    if implied["quality"] is None:
        return (f"No JPEG base quality in the sweep reaches the paper's base-layer ratio of {paper[0]}x: the "
                f"largest is {implied['max_ratio']:.1f}x, at q{implied['at_quality']}.")
    low, high = implied["between"]
    return (f"The base-layer ratio reaches the paper's {paper[0]}x with a JPEG base of quality about "
            f"{implied['quality']:.0f} (between q{low} and q{high}).")


def _fit(fit: dict[str, Any], paper: dict[int, float]) -> str:
    fr = fit["ratios"]
    return (f"The swept base quality whose level ratios come nearest the paper's {paper[1]}x, {paper[2]}x and "
            f"{paper[3]}x is q{fit['quality']}: {ratio(fr[1])}x, {ratio(fr[2])}x and {ratio(fr[3])}x "
            f"(root-mean-square error {share(math.exp(fit['rms_log_error']) - 1)} in ratio), with a base-layer "
            f"ratio of {ratio(fr[0])}x.")


def _sweep(s: dict[str, Any]) -> str:
    q = s["match"]["base_quality"]
    rows = []
    for key, r in sorted(s["ratios"]["by_base_quality"].items(), key=lambda kv: int(kv[0])):
        base = curve(s["points"], SCALABLE, int(key))[0]
        mark = " (matched)" if int(key) == q else ""
        rows.append([f"{key}{mark}", db(base["psnr"]), bpp(base["bpp"]), *map(ratio, r)])
    return table(["JPEG base quality", "base PSNR (dB)", "base bpp", "ratio base", "ratio L1", "ratio L2",
                  "ratio L3"], "rrrrrrr", rows)

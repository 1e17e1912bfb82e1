""""What agrees with the paper, what does not, and why": sentences chosen by the numbers, so that a rerun with other
weights cannot leave a stale claim behind."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from roicodec.bench.analysis import JPEG, METRICS, ROI, SCALABLE, curve
from roicodec.bench.plots import LEVEL_NAMES
from roicodec.bench.report.formats import (
    METRIC_NAMES,
    about,
    bd_rate,
    bpp,
    change,
    codec_name,
    db,
    ratio,
    share,
    size_title,
)
from roicodec.bench.report.markdown import bullets

AGREE = 0.25
"""Relative distance in ratio under which a reproduced number is said to agree with the paper's."""
ANCHOR_NEAR = 10
"""BD-rate points within which this run's anchor is said to sit near the published figure."""


def section(summary: dict[str, Any], paper: dict[int, float], published: dict[str, float],
            sizes: Sequence[str]) -> list[str]:
    return ["## What agrees with the paper, what does not, and why",
            bullets(_size(size, summary[size], paper) for size in sizes),
            bullets([*_anchors(summary, published, sizes), _anchor_slack(summary, sizes)])]


def _size(size: str, s: dict[str, Any], paper: dict[int, float]) -> str:
    return "\n".join([_ratios(size, s, paper), _ladder(s, paper), *_bd_rates(s["bd"]["roicodec"]),
                      _whole_image(s)])


def _near(ours: float, theirs: float) -> bool:
    return abs(math.log(ours / theirs)) <= math.log(1 + AGREE)


def _ratio_list(ratios: Sequence[float]) -> str:
    return ", ".join(f"{ratio(x)}x" for x in ratios)


def _ratios(size: str, s: dict[str, Any], paper: dict[int, float]) -> str:
    ratios, q = s["ratios"], s["match"]["base_quality"]
    r = ratios["matched"]
    agree = [LEVEL_NAMES[k] for k in range(4) if _near(r[k], paper[k])]
    text = (f"**{size_title(size).capitalize()}.** With the JPEG base matched in PSNR (q{q}), the ratios are "
            f"{_ratio_list(r)} for base, L1, L2 and L3, against the paper's "
            f"{', '.join(f'{paper[k]}x' for k in range(4))}: ")
    text += (f"within {share(AGREE)} of the paper at {', '.join(agree)} only. " if agree
             else f"none is within {share(AGREE)} of the paper's. ")
    return text + _paper_base(ratios["paper_base_quality"], q, paper) + _fit(ratios["paper_fit_quality"], paper)


def _paper_base(implied: dict[str, Any], q: int, paper: dict[int, float]) -> str:
    """What the paper's base-layer ratio says about the JPEG base it was measured with."""
    if implied["quality"] is None:
        return (f"No JPEG base up to q{implied['at_quality']} costs {paper[0]}x roicodec's base layer (at most "
                f"{implied['max_ratio']:.1f}x): the paper's base ratio needs a JPEG base of far higher quality than "
                "roicodec's base, or an autoencoder base far cheaper than this one. ")
    unequal = ", so it compares base layers of unequal quality. " if implied["quality"] > 2 * q else ". "
    return (f"The paper's {paper[0]}x base ratio needs a JPEG base near q{implied['quality']:.0f}, against the q{q} "
            "that matches roicodec's base quality" + unequal)


def _fit(fit: dict[str, Any], paper: dict[int, float]) -> str:
    fr = fit["ratios"]
    text = (f"The level ratios come nearest the paper's with a q{fit['quality']} JPEG base ({_ratio_list(fr[1:])}), "
            f"where the base ratio is {ratio(fr[0])}x")
    if _near(fr[0], paper[0]):
        return text + ", so one JPEG base quality reproduces the paper's four numbers together."
    return text + f", not {paper[0]}x: no single JPEG base quality gives the paper's four numbers together."


def _ladder(s: dict[str, Any], paper: dict[int, float]) -> str:
    """Why the ratios above the base behave as they do, read off the matched pair and the sweep."""
    ours, theirs = curve(s["points"], ROI), curve(s["points"], SCALABLE, s["match"]["base_quality"])
    text = (f"Both files carry the same residual ladder with the same mask. At L3 the base layer is "
            f"{share(ours[0]['bpp'] / ours[-1]['bpp'])} of roicodec's bytes and "
            f"{share(theirs[0]['bpp'] / theirs[-1]['bpp'])} of the matched scalable JPEG's, so the ladder sets the "
            f"top-level ratio. Over the JPEG base the first layer reaches {db(theirs[1]['roi_psnr'])} dB ROI-PSNR, "
            f"over roicodec's {db(ours[1]['roi_psnr'])} dB. ")
    if paper[3] > paper[1]:
        text += _rising(s["ratios"]["by_base_quality"], ours, theirs, paper)
    return text


def _rising(by_q: dict[str, list[float]], ours: list[dict[str, Any]], theirs: list[dict[str, Any]],
            paper: dict[int, float]) -> str:
    """Why this run's ratios fall with the level where the paper's rise."""
    falling = sum(r[3] < r[1] for r in by_q.values())
    trend = ("At every swept JPEG base quality" if falling == len(by_q)
             else f"At {falling} of the {len(by_q)} swept JPEG base qualities")
    return (f"{trend} the ratio is lower at L3 than at L1, whereas the paper's rises from {paper[1]}x to "
            f"{paper[3]}x. Layers added to both files pull the ratio towards 1, so a ratio that grows with the "
            "level needs the baseline's enhancement layers to cost more than roicodec's; here the three layers "
            f"cost {bpp(theirs[-1]['bpp'] - theirs[0]['bpp'])} bpp over the matched JPEG base against "
            f"{bpp(ours[-1]['bpp'] - ours[0]['bpp'])} bpp over roicodec's.")


def _bd_rates(bd: dict[str, Any]) -> list[str]:
    """roicodec's BD-rates against the two anchors the paper's claim turns on, where this run has them."""
    return [f"BD-rate of roicodec against {name}: "
            + "; ".join(f"{METRIC_NAMES[m]} {bd_rate(bd[m][anchor])}" for m in METRICS) + "."
            for anchor, name in ((SCALABLE, "the PSNR-matched scalable JPEG"), ("jpeg2000", "JPEG 2000"))
            if anchor in bd["roi_psnr"]]


def _whole_image(s: dict[str, Any]) -> str:
    ours = curve(s["points"], ROI)
    return (f"roicodec spends its level bits inside the ROI ({share(s['roi_fraction'])} of the pixels), so its "
            f"whole-image PSNR rises only {db(ours[-1]['psnr'] - ours[0]['psnr'])} dB from base to L3: its "
            "whole-image BD-rates rest on that narrow band and say mostly that quality outside the ROI stays at the "
            "base layer's, by design. The ROI columns are the comparison the codec is built for.")


def _anchors(summary: dict[str, Any], published: dict[str, float], sizes: Sequence[str]) -> list[str]:
    """One item per published anchor this run measured."""
    peers = {size: summary[size]["bd"]["vs_jpeg"]["psnr"] for size in sizes}
    items = []
    for c, pub in published.items():
        seen = [(size, peers[size][c]["bd_rate"]) for size in sizes
                if peers[size].get(c, {}).get("bd_rate") is not None]
        if seen:
            items.append(_anchor(c, pub, seen))
    return items


def _anchor(codec: str, published: float, seen: Sequence[tuple[str, float]]) -> str:
    near = all(abs(v - published) <= ANCHOR_NEAR for _, v in seen)
    values = ", ".join(f"{change(v)} ({size})" for size, v in seen)
    verdict = f"within {ANCHOR_NEAR} points" if near else f"more than {ANCHOR_NEAR} points apart"
    return f"**Anchor, {codec_name(codec)} against JPEG**: {values} against {about(published)} published: {verdict}."


def _anchor_slack(summary: dict[str, Any], sizes: Sequence[str]) -> str:
    """How much of the peers' lead is the JPEG anchor's own slack: Huffman tables that ``optimize=True`` would fit."""
    rates = [p["bpp"] for size in sizes for p in curve(summary[size]["points"], JPEG)]
    parts = [part for size in sizes if (part := _slack(summary[size]["points"], size))]
    text = ("The JPEG anchor here is Pillow's default writer (4:2:0, standard Huffman tables)"
            + (f", swept from {min(rates):.2f} to {max(rates):.1f} bpp" if rates else "")
            + "; the share a codec saves changes along the rate axis, so a sweep wider or narrower than the "
            "published curves moves the BD-rate.")
    if parts:
        text += (" Part of any lead over it is the anchor's own slack: the same JPEG with `optimize=True` (the "
                 "scalable JPEG's base layer, which also carries the `.roi` framing) is smaller by "
                 + "; ".join(parts) + ", for the same pixels.")
    return text


def _slack(points: Sequence[dict[str, Any]], size: str) -> str | None:
    plain = {p["setting"]: p["bpp"] for p in curve(points, JPEG)}
    optimised = {p["setting"]: p["bpp"] for p in curve(points, SCALABLE) if p["level"] == 0}
    common = sorted(set(plain) & set(optimised))
    if not common:
        return None
    lo, hi = common[0], common[-1]
    return (f"{share(1 - optimised[lo] / plain[lo])} at q{lo} and {share(1 - optimised[hi] / plain[hi])} at q{hi} "
            f"({size})")

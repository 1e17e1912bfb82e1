"""From the sweep's rows to what the page shows: mean curves, the JPEG base matched to roicodec's, per-level bpp
ratios in the paper's form, BD-rates, and the base layers of every base model against JPEG and the peers.

Means are over images, per operating point (metrics per image first, docs/measures.md); ratios are ratios of mean bpp;
BD-rates run on the mean curves, as CompressAI's evaluation does. MS-SSIM is averaged over images, then put in dB
(``-10 log10(1 - mean)``), as CompressAI's plots do; its BD-rates run on those dB.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from roicodec import metrics

METRICS = ("psnr", "roi_psnr", "ssim", "roi_ssim")
MEANS = METRICS + ("ms_ssim",)
TIMES = ("encode_s", "decode_s")
ROI = "roicodec"
SCALABLE = "scalable-jpeg"
JPEG = "jpeg"
BASE = "base"
WHOLE_IMAGE = ("jpeg2000", "jpeg", "webp", "avif")
BASE_PEERS = ("jpeg2000", "avif", "webp")
BASE_METRICS = ("psnr", "ms_ssim_db")
FAMILY = re.compile(r"(?P<family>.+)-q(?P<point>\d+)")
"""Base models named ``<family>-q<n>`` form one rate-distortion curve (``rd-q1`` .. ``rd-q5``); others stand alone."""
FULL_OVERLAP = 0.75
"""Below this share of common quality range the bjontegaard package warns; the page flags such BD-rates."""

Point = dict[str, Any]


def means(rows: Sequence[dict[str, Any]]) -> dict[str, list[Point]]:
    """Per size, one point per (codec, setting, level): mean bpp, metrics and times over the images."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[r["size"], r["codec"], r["setting"], r["level"]].append(r)
    out: dict[str, list[Point]] = defaultdict(list)
    for (size, codec, setting, level), group in groups.items():
        point = {"codec": codec, "setting": setting, "level": level, "images": len(group),
                 "bpp": float(np.mean([r["bpp"] for r in group]))}
        for key in MEANS + TIMES:
            # null is an exact reconstruction (infinite PSNR), or no MS-SSIM (image too small, or rows from before
            # it was measured): it cannot enter a mean
            values = [r[key] for r in group if r.get(key) is not None]
            point[key] = float(np.mean(values)) if values else None
        point["ms_ssim_db"] = metrics.ms_ssim_db(point["ms_ssim"])
        out[size].append(point)
    for points in out.values():
        points.sort(key=lambda p: (p["codec"], p["setting"] if p["setting"] is not None else -1,
                                   p["level"] if p["level"] is not None else -1))
    return dict(out)


def curve(points: Sequence[Point], codec: str, setting: Any = None) -> list[Point]:
    """A codec's points in rate order: roicodec's levels, scalable JPEG's levels over one base quality
    (``setting``), or a whole-image codec's sweep."""
    picked = [p for p in points if p["codec"] == codec and (setting is None or p["setting"] == setting)]
    return sorted(picked, key=lambda p: p["bpp"])


def base_qualities(points: Sequence[Point]) -> list[int]:
    return sorted({p["setting"] for p in points if p["codec"] == SCALABLE})


def matched_quality(points: Sequence[Point]) -> dict[str, Any]:
    """The JPEG base quality whose mean PSNR is nearest roicodec's base layer's."""
    target = curve(points, ROI)[0]["psnr"]
    bases = [curve(points, SCALABLE, q)[0] for q in base_qualities(points)]
    best = min(bases, key=lambda p: abs(p["psnr"] - target))
    return {"base_quality": best["setting"], "jpeg_psnr": best["psnr"], "roicodec_psnr": target}


def level_ratios(points: Sequence[Point], quality: int) -> list[float]:
    """Scalable JPEG bpp / roicodec bpp at each level, with the JPEG base at ``quality``."""
    ours = curve(points, ROI)
    theirs = curve(points, SCALABLE, quality)
    return [t["bpp"] / o["bpp"] for o, t in zip(ours, theirs)]


def paper_base_quality(points: Sequence[Point], paper_base_ratio: float) -> dict[str, Any]:
    """The JPEG base quality at which the base-layer ratio equals the paper's, interpolated between swept qualities
    in log ratio; or the largest ratio the sweep reaches when none does."""
    qs = base_qualities(points)
    ratios = [level_ratios(points, q)[0] for q in qs]
    for (q0, r0), (q1, r1) in zip(zip(qs, ratios), zip(qs[1:], ratios[1:])):
        if min(r0, r1) <= paper_base_ratio <= max(r0, r1) and r0 != r1:
            t = (math.log(paper_base_ratio) - math.log(r0)) / (math.log(r1) - math.log(r0))
            return {"quality": q0 + t * (q1 - q0), "between": [q0, q1]}
    top = int(np.argmax(ratios))
    return {"quality": None, "max_ratio": ratios[top], "at_quality": qs[top]}


def paper_fit_quality(points: Sequence[Point], paper: dict[int, float]) -> dict[str, Any]:
    """The swept JPEG base quality whose ratios at levels 1-3 come nearest the paper's (least squares in log)."""
    best = None
    for q in base_qualities(points):
        ratios = level_ratios(points, q)
        err = math.sqrt(np.mean([math.log(ratios[k] / paper[k]) ** 2 for k in (1, 2, 3)]))
        if best is None or err < best["rms_log_error"]:
            best = {"quality": q, "rms_log_error": err, "ratios": ratios}
    return best


def bd(anchor: Sequence[Point], test: Sequence[Point], metric: str) -> dict[str, Any]:
    """BD-rate of ``test`` against ``anchor`` on one metric, with the share of quality range the curves share."""
    a = metrics.monotone([p["bpp"] for p in anchor], [p[metric] if p[metric] is not None else math.nan
                                                      for p in anchor])
    t = metrics.monotone([p["bpp"] for p in test], [p[metric] if p[metric] is not None else math.nan for p in test])
    both = len(a[1]) and len(t[1])
    overlap = metrics.quality_overlap(a[1], t[1]) if both else 0.0
    coverage = metrics.quality_coverage(a[1], t[1]) if both else 0.0
    common = [max(a[1].min(), t[1].min()), min(a[1].max(), t[1].max())] if both and coverage > 0 else None
    value = metrics.bd_rate(a[0], a[1], t[0], t[1])
    return {"bd_rate": None if math.isnan(value) else value, "overlap": overlap, "coverage": coverage,
            "common_range": common,
            "anchor_points": len(a[0]), "test_points": len(t[0])}


def bd_rates(points: Sequence[Point], matched: int) -> dict[str, Any]:
    """roicodec against every other curve; whole-image codecs against JPEG (the published anchors' form)."""
    anchors = {SCALABLE: curve(points, SCALABLE, matched)}
    anchors.update({c: curve(points, c) for c in WHOLE_IMAGE if curve(points, c)})
    ours = curve(points, ROI)
    roicodec = {m: {name: bd(anchor, ours, m) for name, anchor in anchors.items()} for m in METRICS}
    jpeg = curve(points, JPEG)
    peers = {m: {c: bd(jpeg, anchors[c], m) for c in WHOLE_IMAGE if c in anchors and c != JPEG} for m in METRICS}
    return {"roicodec": roicodec, "vs_jpeg": peers}


def families(models: Sequence[str]) -> dict[str, list[str]]:
    """Base models grouped into curves: ``rd-q1`` .. ``rd-q5`` -> ``{"rd": [...]}`` in point order; a model that
    shares its family with no other is its own group, named after itself."""
    groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for m in models:
        match = FAMILY.fullmatch(m)
        groups[match["family"] if match else m].append((int(match["point"]) if match else 0, m))
    out = {}
    for family, members in groups.items():
        if len(members) == 1:
            out[members[0][1]] = [members[0][1]]
        else:
            out[family] = [m for _, m in sorted(members)]
    return out


def rate_at(anchor: Sequence[Point], metric: str, quality: float | None) -> dict[str, Any] | None:
    """The anchor's bpp at ``quality``, read off the curve that BD-rate integrates (PCHIP of log rate against
    quality, on the points that raise quality); None outside the anchor's quality range."""
    from scipy.interpolate import PchipInterpolator

    if quality is None:
        return None
    rates, qualities = metrics.monotone([p["bpp"] for p in anchor],
                                        [p[metric] if p[metric] is not None else math.nan for p in anchor])
    if len(rates) < 2 or not qualities[0] <= quality <= qualities[-1]:
        return None
    bpp = float(np.exp(PchipInterpolator(qualities, np.log(rates))(quality)))
    settings = {p["bpp"]: p["setting"] for p in anchor}
    upper = int(np.searchsorted(qualities, quality))
    lower = max(upper - 1, 0) if qualities[upper] != quality else upper
    return {"bpp": bpp, "between": [settings[rates[lower]], settings[rates[upper]]]}


def base_layer(points: Sequence[Point]) -> dict[str, Any] | None:
    """Every base model's base layer alone against Pillow's JPEG, beside JPEG 2000, AVIF and WebP.

    A family of base models (``rd-q1`` ..) is one curve with BD-rates against JPEG on PSNR and on MS-SSIM in dB; a
    lone model is one point, given with JPEG's bpp at its PSNR and at its MS-SSIM. A family also gets its BD-rates
    head to head against each peer over its own range (``vs_peers``). Every model also gets its own row: mean bpp,
    PSNR, MS-SSIM, and JPEG's bpp at the same PSNR.
    """
    base = [p for p in points if p["codec"] == BASE]
    jpeg = curve(points, JPEG)
    if not base or not jpeg:
        return None
    by_model = {p["setting"]: p for p in base}

    def at_jpeg(p: Point) -> dict[str, Any]:
        out = {}
        for m in BASE_METRICS:
            found = rate_at(jpeg, m, p[m])
            out[m] = found and {**found, "rate_change": 100 * (p["bpp"] / found["bpp"] - 1)}
        return out

    models = [{"model": name, "bpp": p["bpp"], "psnr": p["psnr"], "ms_ssim": p["ms_ssim"],
               "ms_ssim_db": p["ms_ssim_db"], "images": p["images"], "jpeg_at": at_jpeg(p)}
              for name, p in by_model.items()]
    entries = []
    for name, members in families(list(by_model)).items():
        pts = [by_model[m] for m in members]
        if len(pts) > 1:
            entries.append({"name": name, "kind": "family", "members": members,
                            "bd": {m: bd(jpeg, pts, m) for m in BASE_METRICS}})
        else:
            entries.append({"name": name, "kind": "model", "members": members, "jpeg_at": at_jpeg(pts[0])})
    entries.sort(key=lambda e: e["kind"] != "family")
    # Against JPEG each curve is measured over the range it shares with JPEG, and a base family's is narrow and low
    # (26 to 31 dB on Kodak) where the peers' spans 25 to 43 dB: side by side those figures compare different ranges.
    # Head to head, each family against each peer over the family's own range, is what a user choosing at these
    # rates compares.
    peers = {c: curve(points, c) for c in BASE_PEERS}
    for e in entries:
        if e["kind"] == "family":
            pts = [by_model[m] for m in e["members"]]
            e["vs_peers"] = {c: {m: bd(peer, pts, m) for m in BASE_METRICS} for c, peer in peers.items() if peer}
    for c, pts in peers.items():
        if pts:
            entries.append({"name": c, "kind": "peer", "members": [c], "points": len(pts),
                            "bd": {m: bd(jpeg, pts, m) for m in BASE_METRICS},
                            "bpp_range": [pts[0]["bpp"], pts[-1]["bpp"]]})
    return {"anchor": JPEG, "entries": entries, "models": models,
            "jpeg_bpp_range": [jpeg[0]["bpp"], jpeg[-1]["bpp"]]}


def summarise(rows: Sequence[dict[str, Any]], paper: dict[int, float]) -> dict[str, Any]:
    """Everything the page reports, per size, computed from the rows alone."""
    out: dict[str, Any] = {}
    for size, points in means(rows).items():
        match = matched_quality(points)
        q = match["base_quality"]
        out[size] = {
            "points": points,
            "roi_fraction": float(np.mean([r["roi_fraction"] for r in rows if r["size"] == size])),
            "match": match,
            "ratios": {"matched": level_ratios(points, q),
                       "by_base_quality": {str(b): level_ratios(points, b) for b in base_qualities(points)},
                       "paper_base_quality": paper_base_quality(points, paper[0]),
                       "paper_fit_quality": paper_fit_quality(points, paper)},
            "bd": bd_rates(points, q),
            "base_layer": base_layer(points),
        }
    return out

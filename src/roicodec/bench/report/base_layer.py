""""Base layer": every installed base model's base layer coded alone, against Pillow's JPEG and beside JPEG 2000,
AVIF and WebP: one BD-rate row per curve (a family of models, a lone model, a peer), then each model's means."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from roicodec.bench.analysis import BASE_METRICS
from roicodec.bench.report import method
from roicodec.bench.report.formats import (
    NO_MS_SSIM,
    bd_rate,
    bpp,
    change,
    code_list,
    codec_name,
    db,
    ms_ssim,
    optional,
    size_title,
)
from roicodec.bench.report.markdown import figure, table


def section(summary: dict[str, Any], hashes: dict[str, str], figures: dict[str, str],
            published: dict[str, float], sizes: Sequence[str]) -> list[str]:
    """``hashes`` maps each model to its weights' hash, ``figures`` each size to its base-layer figure."""
    sizes = [size for size in sizes if summary[size].get("base_layer")]
    if not sizes:
        return []
    blocks = ["## Base layer", method.BASE_LAYER_CODING,
              method.base_layer_bd_rate(published.get("bmshj2018-factorized"))]
    for size in sizes:
        blocks += _size(size, summary[size]["base_layer"], hashes, figures.get(size))
    return blocks


def _size(size: str, b: dict[str, Any], hashes: dict[str, str], figure_path: str | None) -> list[str]:
    lo, hi = b["jpeg_bpp_range"]
    blocks = [f"### {size_title(size).capitalize()}",
              f"Measured in the same run; JPEG anchor: {lo:.3f} to {hi:.2f} bpp.", _curves(b), *_head_to_head(b),
              "Each model's means over the images, and JPEG's rate at the same PSNR:", _means(b, hashes)]
    if figure_path is not None:
        blocks += figure(f"Base layers against JPEG and the peers, {size_title(size)}", figure_path,
                         f"Base layers alone, {size_title(size)}: PSNR and MS-SSIM (dB) against bpp, with Pillow's "
                         "JPEG, JPEG 2000, AVIF and WebP from the same run.")
    return blocks


def _curves(b: dict[str, Any]) -> str:
    models = {m["model"]: m for m in b["models"]}
    rows = [_curve(e, models) for e in b["entries"]]
    return table(["curve", "points", "PSNR BD-rate vs JPEG", "MS-SSIM (dB) BD-rate vs JPEG"], "llrr", rows)


def _curve(e: dict[str, Any], models: dict[str, dict[str, Any]]) -> list[str]:
    if e["kind"] == "model":
        m = models[e["members"][0]]
        return [f"`{e['name']}`", "1", *(_at_jpeg(e["jpeg_at"][metric], m[metric], metric) for metric in BASE_METRICS)]
    cells = [_bd(e["bd"][metric], metric) for metric in BASE_METRICS]
    if e["kind"] == "family":
        return [f"`{e['name']}` family ({code_list(e['members'])})", str(len(e["members"])), *cells]
    lo, hi = e["bpp_range"]
    return [codec_name(e["name"]), f"{e['points']} ({lo:.2f}-{hi:.2f} bpp)", *cells]


def _head_to_head(b: dict[str, Any]) -> list[str]:
    """Each family against each peer over the family's own quality range (positive: the family needs more bytes)."""
    rows = [[f"`{e['name']}` family", codec_name(peer), *(_bd(found[metric], metric) for metric in BASE_METRICS)]
            for e in b["entries"] if e.get("vs_peers") for peer, found in e["vs_peers"].items()]
    if not rows:
        return []
    return ["Against JPEG, each curve above is measured over the quality range it shares with JPEG: a base family's "
            "is its own narrow low range, the peers' reach far higher, so those figures compare different ranges. "
            "Head to head, over each family's own range (positive: the family needs that much more rate than the "
            "peer at equal quality):",
            table(["family", "against", "PSNR BD-rate", "MS-SSIM (dB) BD-rate"], "llrr", rows)]


def _bd(entry: dict[str, Any], metric: str) -> str:
    if metric == "ms_ssim_db" and not (entry["anchor_points"] and entry["test_points"]):
        return NO_MS_SSIM
    return bd_rate(entry)


def _at_jpeg(found: dict[str, Any] | None, quality: float | None, metric: str) -> str:
    """A lone model against JPEG at its quality: rate change and JPEG's interpolated bpp."""
    if quality is None:
        return NO_MS_SSIM if metric == "ms_ssim_db" else "n/a"
    if found is None:
        return f"n/a (outside JPEG's range at {db(quality)} dB)"
    lo, hi = found["between"]
    where = f"q{lo}" if lo == hi else f"q{lo}-q{hi}"
    return f"{change(found['rate_change'])} at one point (JPEG {bpp(found['bpp'])} bpp, {where})"


def _means(b: dict[str, Any], hashes: dict[str, str]) -> str:
    rows = []
    for m in b["models"]:
        found = m["jpeg_at"]["psnr"]
        rows.append([f"`{m['model']}`", f"`{hashes.get(m['model'], '?')}`", bpp(m["bpp"]), optional(m["psnr"], db),
                     optional(m["ms_ssim"], ms_ssim), optional(m["ms_ssim_db"], db),
                     "n/a (outside JPEG's range)" if found is None else bpp(found["bpp"]),
                     "n/a" if found is None else change(found["rate_change"])])
    return table(["model", "hash", "bpp", "PSNR (dB)", "MS-SSIM", "MS-SSIM (dB)", "JPEG bpp at that PSNR",
                  "rate vs JPEG"], "llrrrrrr", rows)

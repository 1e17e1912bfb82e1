"""The figures: rate-distortion curves like the paper's Fig. 3, and the per-level bpp ratio against the JPEG base
quality. PNGs with labelled axes and a legend, drawn from the summary alone."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from roicodec.bench.analysis import ROI, SCALABLE, WHOLE_IMAGE, curve

PANELS = (("psnr", "PSNR, whole image (dB)"), ("roi_psnr", "ROI-PSNR (dB)"),
          ("ssim", "SSIM, whole image"), ("roi_ssim", "ROI-SSIM"))
LEVEL_NAMES = ("base", "L1", "L2", "L3")
STYLE = {"roicodec": ("tab:red", "o", "-"), "scalable-jpeg": ("tab:blue", "s", "-"),
         "jpeg2000": ("tab:green", "^", "--"), "jpeg": ("tab:gray", "v", "--"), "webp": ("tab:purple", "D", "--"),
         "avif": ("tab:orange", "P", "--")}
LABEL = {"roicodec": "roicodec (base + 3 ROI levels)", "jpeg2000": "JPEG 2000 (quality layers, mct=1)",
         "jpeg": "JPEG", "webp": "WebP", "avif": "AVIF"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a build machine
    import matplotlib.pyplot as plt

    return plt


def rd_figure(points: Sequence[dict[str, Any]], matched: int, extra: int | None, title: str, path: Path) -> None:
    """Four panels (PSNR, ROI-PSNR, SSIM, ROI-SSIM against bpp); roicodec's and scalable JPEG's levels labelled.

    ``extra`` adds the scalable JPEG whose base quality best reproduces the paper's level ratios, when it differs
    from the matched one.
    """
    plt = _pyplot()
    from matplotlib import ticker

    fig, axes = plt.subplots(2, 2, figsize=(12, 9), constrained_layout=True)
    series = [(ROI, None, LABEL[ROI], STYLE[ROI], True),
              (SCALABLE, matched, f"scalable JPEG, base q{matched} (matched PSNR)", STYLE[SCALABLE], True)]
    if extra is not None and extra != matched:
        color, marker, _ = STYLE[SCALABLE]
        series.append((SCALABLE, extra, f"scalable JPEG, base q{extra} (nearest the paper's ratios)",
                       ("tab:cyan", marker, ":"), True))
    series += [(c, None, LABEL[c], STYLE[c], False) for c in WHOLE_IMAGE if curve(points, c)]
    for ax, (metric, ylabel) in zip(axes.flat, PANELS):
        for codec, setting, label, (color, marker, line), levels in series:
            pts = [p for p in curve(points, codec, setting) if p[metric] is not None]
            if levels:
                pts.sort(key=lambda p: p["level"])
            ax.plot([p["bpp"] for p in pts], [p[metric] for p in pts], line, color=color, marker=marker,
                    label=label, markersize=5)
            if levels:
                for p in pts:
                    ax.annotate(LEVEL_NAMES[p["level"]], (p["bpp"], p[metric]), textcoords="offset points",
                                xytext=(4, -10 if codec == ROI else 4), fontsize=7, color=color)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel("bits per pixel (all bytes of the file)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    axes.flat[0].legend(fontsize=8, loc="upper left")
    fig.suptitle(title)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def ratio_figure(summaries: dict[str, dict[str, Any]], paper: dict[int, float], dataset: str, path: Path) -> None:
    """Scalable JPEG bpp / roicodec bpp per level against the JPEG base quality, one panel per size, with the
    paper's ratios as horizontal lines."""
    plt = _pyplot()
    from matplotlib import ticker

    fig, axes = plt.subplots(1, len(summaries), figsize=(6 * len(summaries), 4.5), constrained_layout=True,
                             squeeze=False)
    colors = ("black", "tab:blue", "tab:orange", "tab:red")
    for ax, (size, s) in zip(axes.flat, summaries.items()):
        by_q = s["ratios"]["by_base_quality"]
        qs = sorted(int(q) for q in by_q)
        for k, name in enumerate(LEVEL_NAMES):
            ax.plot(qs, [by_q[str(q)][k] for q in qs], "-o", color=colors[k], markersize=4, label=f"{name}: ours")
            ax.axhline(paper[k], color=colors[k], linestyle=":", label=f"{name}: paper, {paper[k]}x")
        ax.axvline(s["match"]["base_quality"], color="gray", linestyle="--", label="base PSNR matched")
        ax.axhline(1, color="gray", linewidth=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        plain = ticker.FuncFormatter(lambda v, _: f"{v:g}")
        ax.set_xticks([q for q in (2, 3, 5, 10, 25, 50, 100) if qs[0] <= q <= qs[-1]])
        ax.set_yticks([v for v in (0.5, 1, 2, 3, 5, 10, 20, 50, 100)])
        ax.xaxis.set_major_formatter(plain)
        ax.yaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xlabel("JPEG base-layer quality of the scalable JPEG")
        ax.set_ylabel("scalable JPEG bpp / roicodec bpp")
        ax.set_title(f"{dataset}, {size}")
        ax.grid(True, which="both", alpha=0.3)
    axes.flat[0].legend(fontsize=7, ncol=2, loc="upper left")
    fig.savefig(path, dpi=90)
    plt.close(fig)

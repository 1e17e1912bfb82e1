"""The figures: rate-distortion curves like the paper's Fig. 3, the per-level bpp ratio against the JPEG base
quality, and the base layers alone against JPEG and the peers. PNGs with labelled axes and a legend, drawn from the
summary alone."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from roicodec.bench.analysis import BASE, BASE_PEERS, JPEG, ROI, SCALABLE, WHOLE_IMAGE, curve, families

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


BASE_PANELS = (("psnr", "PSNR, whole image (dB)"), ("ms_ssim_db", "MS-SSIM, whole image (dB): -10 log10(1 - MS-SSIM)"))
FAMILY_STYLES = (("tab:red", "o"), ("tab:brown", "s"), ("tab:pink", "D"), ("tab:olive", "^"))
MODEL_STYLES = (("black", "*"), ("tab:cyan", "X"), ("tab:blue", "h"), ("tab:gray", "p"))


def base_figure(points: Sequence[dict[str, Any]], title: str, path: Path) -> None:
    """Two panels (PSNR and MS-SSIM in dB against bpp): each family of base models as one labelled curve, each
    lone model as one point, and JPEG, JPEG 2000, AVIF and WebP; the rate axis spans the base layers' rates."""
    plt = _pyplot()
    from matplotlib import ticker

    by_model = {p["setting"]: p for p in points if p["codec"] == BASE}
    groups = families(list(by_model))
    series = []  # (points, label, (color, marker, line), point labels or None)
    lone = [g[0] for g in groups.values() if len(g) == 1]
    for (name, members), (color, marker) in zip(((n, g) for n, g in groups.items() if len(g) > 1), FAMILY_STYLES):
        series.append(([by_model[m] for m in members], f"{name} family (base layer alone)", (color, marker, "-"),
                       [m.rsplit("-", 1)[-1] for m in members]))
    for model, (color, marker) in zip(lone, MODEL_STYLES):
        series.append(([by_model[model]], f"{model} (base layer alone)", (color, marker, ""), None))
    for c in (JPEG, *BASE_PEERS):
        if curve(points, c):
            series.append((curve(points, c), LABEL[c], STYLE[c], None))
    base_rates = [p["bpp"] for p in by_model.values()]
    lo = min([*base_rates, *(p["bpp"] for p in curve(points, JPEG)[:1])]) / 1.5
    hi = max(max(base_rates) * 3, 1.0)
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.5), layout="constrained")
    for ax, (metric, ylabel) in zip(axes.flat, BASE_PANELS):
        shown = []
        for pts, label, (color, marker, line), tags in series:
            pts = [p for p in pts if p[metric] is not None]
            if not pts:
                continue
            size = 12 if tags is None and line == "" else 5
            ax.plot([p["bpp"] for p in pts], [p[metric] for p in pts], line, color=color, marker=marker,
                    label=label, markersize=size)
            shown += [p[metric] for p in pts if lo <= p["bpp"] <= hi]
            for p, tag in zip(pts, tags or ()):
                ax.annotate(tag, (p["bpp"], p[metric]), textcoords="offset points", xytext=(4, -10), fontsize=7,
                            color=color)
        ax.set_xscale("log")
        ax.set_xlim(lo, hi)
        if shown:
            pad = 0.05 * (max(shown) - min(shown) or 1)
            ax.set_ylim(min(shown) - pad, max(shown) + pad)
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel("bits per pixel (all bytes of the file)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="both", alpha=0.3)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="outside lower center", ncol=4)
    fig.suptitle(title)
    fig.savefig(path, dpi=90)
    plt.close(fig)

"""Makes docs/levels.png for the README: the bundled astronaut at every level of a default ``.roi`` file.

Top row: the original and levels 0 (base) to 3, each titled with its layer, the file's bpp up to that level and its ROI-PSNR (or exact).
Bottom row: the same images cropped to the ROI (the head), enlarged so that the differences between levels show.

    python benchmarks/levels_figure.py [--out docs/levels.png]
"""

from __future__ import annotations

import argparse
import io
import json
from importlib.resources import files
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

import roicodec
from roicodec.mask import bounding_box
from roicodec.metrics import psnr

REPO = Path(__file__).resolve().parents[1]
MAX_BYTES = 400_000
ZOOM_MARGIN = 8
DPI = 100


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "levels.png")
    args = ap.parse_args()

    samples = files("roicodec") / "samples"
    rgb = np.asarray(Image.open(samples / "astronaut.png").convert("RGB"))
    roi = np.asarray(Image.open(samples / "astronaut_roi.png")).astype(bool)
    h, w = rgb.shape[:2]

    data = roicodec.encode(rgb, roi)
    f = roicodec.open(data)
    panels = [("original", rgb, f"{8 * rgb.shape[2]} bpp raw")]
    for info, img in zip(f.level_info, f.decode_all()):
        name = "level 0 (base)" if info.level == 0 else f"level {info.level} ({info.layer})"
        quality = "exact" if info.max_error == 0 else f"{psnr(rgb, img, roi):.2f} dB"
        panels.append((name, img, f"{info.bpp:.3f} bpp, ROI {quality}"))

    ys, xs = bounding_box(roi)
    ys = slice(max(ys.start - ZOOM_MARGIN, 0), min(ys.stop + ZOOM_MARGIN, h))
    xs = slice(max(xs.start - ZOOM_MARGIN, 0), min(xs.stop + ZOOM_MARGIN, w))

    n = len(panels)
    zoom_h = (ys.stop - ys.start) / (xs.stop - xs.start)
    fig, axes = plt.subplots(2, n, figsize=(2.6 * n, 2.6 * (1 + zoom_h) + 0.7),
                             gridspec_kw={"height_ratios": [1, zoom_h]})
    for col, (name, img, caption) in enumerate(panels):
        axes[0, col].imshow(img, interpolation="lanczos")
        # The outline tells the reader where the enhancement layers apply.
        axes[0, col].contour(roi, levels=[0.5], colors="yellow", linewidths=0.7)
        axes[0, col].set_title(f"{name}\n{caption}", fontsize=9)
        axes[1, col].imshow(img[ys, xs], interpolation="lanczos")
        for ax in axes[:, col]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[1, 0].set_ylabel("ROI, enlarged", fontsize=9)
    fig.suptitle(f"roicodec levels: astronaut {w}x{h}, ROI {100 * roi.mean():.0f} % of the image, "
                 f"ladder {', '.join(f.layers)}", fontsize=10)
    fig.tight_layout()

    # Truecolour would be about three times the limit; without dithering, 256 colours add no visible noise that
    # could pass for coding artefacts.
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    figure = Image.open(buf).convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.save(args.out, optimize=True)
    size = args.out.stat().st_size
    print(json.dumps({"out": str(args.out.relative_to(REPO) if args.out.is_relative_to(REPO) else args.out),
                      "png_bytes": size, "under_limit": size < MAX_BYTES,
                      "panels": [{"name": p[0], "caption": p[2]} for p in panels]}, indent=2))


if __name__ == "__main__":
    main()

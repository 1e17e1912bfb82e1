""""Rate-distortion curves": the figures like the paper's Fig. 3, one per size."""

from __future__ import annotations

from collections.abc import Sequence

from roicodec.bench.report.formats import size_title
from roicodec.bench.report.markdown import figure


def section(sizes: Sequence[str], figures: dict[str, str]) -> list[str]:
    blocks = ["## Rate-distortion curves",
              ("Like the paper's Fig. 3: PSNR and SSIM against bpp, on the whole image and on the ROI, with "
               "roicodec's and the scalable JPEG's base and levels labelled.")]
    for size in sizes:
        blocks += figure(f"Rate-distortion, {size_title(size)}", figures[size], f"{size_title(size).capitalize()}.")
    return blocks

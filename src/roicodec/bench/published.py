"""Numbers published elsewhere that the results stand beside (docs/measures.md).

They are written into the run's ``meta.json`` so that the page, like every other number on it, reads them from the
JSON the command wrote.
"""

from __future__ import annotations

from typing import Any

PAPER_RATIOS = {0: 61.4, 1: 3.3, 2: 3.6, 3: 5.4}
"""Scalable JPEG bpp / the paper's bpp at the base layer and ROI levels 1-3 (Samarathunga et al., Fig. 3 and text)."""

KODAK_PSNR_BD_RATE_VS_JPEG = {
    "jpeg2000": -36.0,
    "webp": -36.0,
    "bmshj2018-factorized": -44.0,
    "best learned codecs": -65.0,
}
"""Approximate BD-rate (%) against JPEG on Kodak PSNR, from CompressAI's ``results/`` tables (docs/measures.md)."""


def as_json() -> dict[str, Any]:
    return {"paper_ratios": {str(k): v for k, v in PAPER_RATIOS.items()},
            "kodak_psnr_bd_rate_vs_jpeg": KODAK_PSNR_BD_RATE_VS_JPEG,
            "anchors_source": "CompressAI results/ tables for Kodak, as summarised in docs/measures.md",
            "paper": "Samarathunga et al., Region of Interest Scalable Image Compression Using Semantic "
                     "Communications"}

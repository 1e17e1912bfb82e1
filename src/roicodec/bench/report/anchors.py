""""Anchors": the whole-image codecs' BD-rate against JPEG in this run, beside the published Kodak figures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from roicodec.bench.analysis import WHOLE_IMAGE
from roicodec.bench.report import method
from roicodec.bench.report.formats import about, bd_rate, codec_name
from roicodec.bench.report.markdown import table


def section(summary: dict[str, Any], published: dict[str, float], sizes: Sequence[str]) -> list[str]:
    blocks = ["## Anchors: the whole-image codecs against JPEG", method.ANCHORS, _table(summary, published, sizes)]
    others = {k: v for k, v in published.items() if k not in WHOLE_IMAGE}
    if others:
        blocks.append("Published for learned codecs, for scale: "
                      + "; ".join(f"{k} {about(v)}" for k, v in others.items()) + ".")
    return blocks


def _table(summary: dict[str, Any], published: dict[str, float], sizes: Sequence[str]) -> str:
    rows = []
    for size in sizes:
        peers = summary[size]["bd"]["vs_jpeg"]
        for c in peers["psnr"]:
            pub = published.get(c)
            rows.append([size, codec_name(c), bd_rate(peers["psnr"][c]), bd_rate(peers["ssim"][c]),
                         "none given" if pub is None else about(pub)])
    return table(["size", "codec", "PSNR", "SSIM", "published (Kodak PSNR)"], "llrrr", rows)

""""BD-rate": roicodec against every anchor, per size and metric."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from roicodec.bench.analysis import METRICS, SCALABLE
from roicodec.bench.report import method
from roicodec.bench.report.formats import METRIC_NAMES, bd_rate, codec_name, size_title
from roicodec.bench.report.markdown import table


def section(summary: dict[str, Any], sizes: Sequence[str]) -> list[str]:
    blocks = ["## BD-rate", method.BD_RATE_CURVES]
    for size in sizes:
        blocks += [f"### {size_title(size).capitalize()}", _table(summary[size])]
    return blocks


def _table(s: dict[str, Any]) -> str:
    bd = s["bd"]["roicodec"]
    anchors = list(bd["psnr"])
    names = [f"scalable JPEG (q{s['match']['base_quality']})" if a == SCALABLE else codec_name(a) for a in anchors]
    rows = [[METRIC_NAMES[m], *(bd_rate(bd[m][a]) for a in anchors)] for m in METRICS]
    return table(["metric", *names], "l" + "r" * len(anchors), rows)

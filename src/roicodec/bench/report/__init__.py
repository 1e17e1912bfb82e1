"""The results page (Markdown) from the run's JSON: the paper's table reproduced, BD-rates, anchors, the base layers
against JPEG and the peers, speed, and what agrees with the paper and what does not.

Every number on the page comes from ``summary.json``, ``speed.json`` and ``meta.json``; the sentences that judge
agreement are chosen by those numbers, so that a rerun with other weights cannot leave a stale claim behind.

One module per section of the page, in page order: ``header``, ``method`` ("How it is measured", and every other
paragraph on method), ``paper``, ``curves``, ``bd_rate``, ``anchors``, ``base_layer``, ``speed``, ``verdict``.
``formats`` writes the numbers and names, ``markdown`` the tables, lists and figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from roicodec.bench.report import anchors, base_layer, bd_rate, curves, header, method, paper, speed, verdict


def render(summary: dict[str, Any], speed_rows: Sequence[dict[str, Any]], meta: dict[str, Any],
           figures: dict[str, Any]) -> str:
    """The page. ``figures`` maps each size (and ``"ratios"``) to the PNG's path relative to the page, and
    ``"base"`` to a map from each size to its base-layer figure."""
    paper_ratios = {int(k): v for k, v in meta["published"]["paper_ratios"].items()}
    published = meta["published"]["kodak_psnr_bd_rate_vs_jpeg"]
    sizes = [s for s in meta["sizes"] if s in summary]
    blocks = [*header.section(meta), *method.section(meta),
              *paper.section(summary, paper_ratios, sizes, figures["ratios"]), *curves.section(sizes, figures),
              *bd_rate.section(summary, sizes), *anchors.section(summary, published, sizes),
              *base_layer.section(summary, meta.get("base_models", {}), figures.get("base", {}), published, sizes),
              *speed.section(speed_rows), *verdict.section(summary, paper_ratios, published, sizes)]
    # A section with nothing to list (no sizes, no speed rows) leaves an empty block, not a blank line.
    return "\n\n".join(block for block in blocks if block) + "\n"

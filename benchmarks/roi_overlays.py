"""The figure of docs/segment.md: ``--roi auto`` on the astronaut and on a BBBC039 micrograph, ROI outlined.

    python benchmarks/roi_overlays.py [--data ../shared/data] [--out docs/segment_overlays.png]

Both ROIs come from ``segment_roi`` with no model named, as ``roicodec demo`` and ``roicodec encode --roi auto`` make
them; the micrograph (the first of the nuclei model's BBBC039 report images, which it never trained on) is shown
through ``microscopy_rgb`` (what the model sees). An image whose model is not installed is left out, and said so.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from roicodec.segment import NUCLEI, SALIENT, installed, microscopy_rgb, segment_roi


def outline(rgb: np.ndarray, mask: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    """``rgb`` with the ROI's border (2 pixels) in ``colour`` and the outside dimmed."""
    from scipy.ndimage import binary_erosion

    out = rgb.astype(np.float32)
    out[~mask] *= 0.55
    edge = mask & ~binary_erosion(mask, iterations=2)
    out[edge] = colour
    return out.astype(np.uint8)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "segment_overlays.png")
    args = parser.parse_args()
    repo = Path(__file__).resolve().parents[1]
    report = json.loads((repo / "training" / "splits" / "nuclei.json").read_text())["splits"]["bbbc039"]
    images = {SALIENT: np.asarray(Image.open(str(resources.files("roicodec") / "samples" / "astronaut.png"))),
              NUCLEI: np.asarray(Image.open(args.data / "bbbc039" / "images" / f"{report[0]}.png"))}
    missing = [name for name in images if not installed(name)]
    if missing:
        print(f"not installed, left out: {', '.join(missing)} (train and export them first: docs/segment.md)",
              file=sys.stderr)
    if len(missing) == len(images):
        return 1
    panels = []
    for name, image in images.items():
        if name in missing:
            continue
        mask, seg = segment_roi(image)
        if seg.model != name:
            raise SystemExit(f"--roi auto chose {seg.model} for the {name} image: docs/segment.md's rule has changed")
        print(f"{seg.model} ({seg.reason}): {mask.mean():.1%} of the image")
        view = microscopy_rgb(image) if seg.model == NUCLEI else image
        panel = Image.fromarray(outline(view, mask, (255, 200, 0)))
        panels.append(panel.resize((round(panel.width * 400 / panel.height), 400), Image.BILINEAR))
    sheet = Image.new("RGB", (sum(p.width for p in panels) + 10, 400), "white")
    x = 0
    for panel in panels:
        sheet.paste(panel, (x, 0))
        x += panel.width + 10
    sheet.save(args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`im.thumbnail((128, 128))` on a 4096x4096 `.roi` against a full `load()`, through Pillow.

    python benchmarks/thumbnail_speed.py [--runs 5] [--side 4096] [--out docs/results/thumbnail_speed.json]

Prints JSON: the times of each run and their medians (target: thumbnail at least 5x faster than a full load) and how
many enhancement layers each path decoded (counted by wrapping the layer decoder). With ``--out`` it also writes the
JSON there and, for docs/results/thumbnail_speed.json, remakes the table in docs/pillow.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pages
from PIL import Image

import roicodec
from roicodec import ladder

KODAK = Path(__file__).parents[1] / ".." / "shared" / "data" / "kodak" / "kodim23.png"
TARGET_SPEEDUP = 5


def _image(side: int) -> np.ndarray:
    tile = np.asarray(Image.open(KODAK).convert("RGB"))
    tile = np.concatenate([tile, tile[:, ::-1]], axis=1)  # mirror so that seams are smooth
    tile = np.concatenate([tile, tile[::-1]], axis=0)
    reps = (-(-side // tile.shape[0]), -(-side // tile.shape[1]), 1)
    return np.ascontiguousarray(np.tile(tile, reps)[:side, :side])


def _times(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 4), "runs": [round(v, 4) for v in values]}


def main() -> None:
    begun = pages.begin()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--side", type=int, default=4096)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    layers = {"count": 0}
    apply_tile = ladder.apply_tile  # what the reader applies each tile's layers with

    def counting(*args, **kwargs):
        # Counts (tile, layer) pairs; divided by the tile count below, that is whole layers.
        for level in apply_tile(*args, **kwargs):
            layers["count"] += 1
            yield level

    ladder.apply_tile = counting
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.roi"
        side = args.side
        mask = np.zeros((side, side), bool)
        mask[side // 4:3 * side // 4, side // 4:3 * side // 4] = True
        roicodec.encode(_image(side), mask, path)

        def timed(thumbnail: bool) -> float:
            t0 = time.perf_counter()
            with Image.open(path) as im:
                im.thumbnail((128, 128)) if thumbnail else im.load()
            return time.perf_counter() - t0

        with roicodec.open(path) as f:
            tiles = -(-f.size[0] // f.header.tile) * -(-f.size[1] // f.header.tile)
            model, layer_names = f.model, f.layers
        timed(True)  # load the model once, outside the timings
        layers["count"] = 0
        thumb = [timed(True) for _ in range(args.runs)]
        thumb_layers = layers["count"] / args.runs / tiles
        layers["count"] = 0
        full = [timed(False) for _ in range(args.runs)]
        full_layers = layers["count"] / args.runs / tiles
    result = {
        "image": f"kodim23 mirror-tiled to {side}x{side}, central ROI of half the side, default ladder "
                 + ", ".join(layer_names),
        "model": {"name": model[0], "hash": model[1]},
        "runs": args.runs,
        "thumbnail_s": _times(thumb),
        "load_s": _times(full),
        # From the rounded medians, so that the page's ratio is the ratio of the times it shows.
        "speedup": round(_times(full)["median"] / _times(thumb)["median"], 1),
        "enhancement_layers_decoded_thumbnail": thumb_layers,
        "enhancement_layers_decoded_load": full_layers,
        "target_speedup": TARGET_SPEEDUP,
    }
    result["meta"] = pages.meta("thumbnail_speed.py", sys.argv[1:], begun)
    print(json.dumps(result, indent=2))
    if args.out:
        pages.write(args.out, result)


if __name__ == "__main__":
    main()

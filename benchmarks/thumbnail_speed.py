"""`im.thumbnail((128, 128))` on a 4096x4096 `.roi` against a full `load()`, through Pillow.

    python benchmarks/thumbnail_speed.py [--runs 5]

Prints JSON: median times, their ratio (target: thumbnail at least 5x faster) and how many enhancement layers each
path decoded (counted by wrapping the layer decoder).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import roicodec
from roicodec import ladder

KODAK = Path(__file__).parents[1] / ".." / "shared" / "data" / "kodak" / "kodim23.png"


def _image() -> np.ndarray:
    tile = np.asarray(Image.open(KODAK).convert("RGB"))
    tile = np.concatenate([tile, tile[:, ::-1]], axis=1)  # mirror so that seams are smooth
    tile = np.concatenate([tile, tile[::-1]], axis=0)
    reps = (-(-4096 // tile.shape[0]), -(-4096 // tile.shape[1]), 1)
    return np.ascontiguousarray(np.tile(tile, reps)[:4096, :4096])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    layers = {"count": 0}
    decode_tile = ladder.decode_tile

    def counting(base, mask, payloads):
        # Counts (tile, layer) pairs; divided by the tile count below, that is whole layers.
        for level in decode_tile(base, mask, payloads):
            layers["count"] += 1
            yield level

    ladder.decode_tile = counting
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.roi"
        mask = np.zeros((4096, 4096), bool)
        mask[1024:3072, 1024:3072] = True
        roicodec.encode(_image(), mask, path)

        def timed(thumbnail: bool) -> float:
            t0 = time.perf_counter()
            with Image.open(path) as im:
                im.thumbnail((128, 128)) if thumbnail else im.load()
            return time.perf_counter() - t0

        with roicodec.open(path) as f:
            tiles = -(-f.size[0] // f.header.tile) * -(-f.size[1] // f.header.tile)
        timed(True)  # load the model once, outside the timings
        layers["count"] = 0
        thumb = [timed(True) for _ in range(args.runs)]
        thumb_layers = layers["count"] / args.runs / tiles
        layers["count"] = 0
        full = [timed(False) for _ in range(args.runs)]
        full_layers = layers["count"] / args.runs / tiles
    print(json.dumps({
        "image": "kodim23 mirror-tiled to 4096x4096, central ROI, qualities 75/90/100",
        "runs": args.runs,
        "thumbnail_s_median": round(statistics.median(thumb), 3),
        "load_s_median": round(statistics.median(full), 3),
        "speedup": round(statistics.median(full) / statistics.median(thumb), 1),
        "enhancement_layers_decoded_thumbnail": thumb_layers,
        "enhancement_layers_decoded_load": full_layers,
        "target_speedup": 5,
    }, indent=2))


if __name__ == "__main__":
    main()

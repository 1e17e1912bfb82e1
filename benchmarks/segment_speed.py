"""Median time for the embedded segmenter to segment one 480x360 CamVid frame (target: at most 1 s).

The model is built and run once before timing, so the figure is steady-state inference (resize, tiles, softmax,
class map) as ``--roi auto`` pays it per image, not the one-off build. It is timed with torch's own thread count and
with one thread, in the same process (one untimed run after each change).

    python benchmarks/segment_speed.py [--data ../shared/data/camvid] [--runs 15] [--model swin-pico-camvid]
                                       [--threads N,...] [--out docs/results/segment_speed.json]

With ``--out`` it also writes the JSON there and, for docs/results/segment_speed.json, remakes the table in
docs/segment.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pages
import torch
from PIL import Image

from roicodec.segment import EMBEDDED, load_segmenter

TARGET_S = 1.0


def main() -> None:
    begun = pages.begin()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
                        / "camvid")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--model", default=EMBEDDED)
    parser.add_argument("--threads", help="torch thread counts, comma-separated (default: torch's own, then 1)")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    counts = [int(n) for n in args.threads.split(",")] if args.threads else [torch.get_num_threads(), 1]
    counts = list(dict.fromkeys(counts))

    frame = min((args.data / "val").glob("*.jpg"))
    image = np.asarray(Image.open(frame).convert("RGB"))
    tic = time.perf_counter()
    segmenter = load_segmenter(args.model)
    build_s = time.perf_counter() - tic
    measured = []
    for n in counts:
        torch.set_num_threads(n)
        segmenter(image)  # a new thread count starts its pool on the first call: keep that out of the timings
        times = []
        for _ in range(args.runs):
            tic = time.perf_counter()
            segmenter(image)
            times.append(time.perf_counter() - tic)
        measured.append({"torch_threads": torch.get_num_threads(), "runs": args.runs,
                         "median_s": round(statistics.median(times), 4), "min_s": round(min(times), 4),
                         "meets_target": statistics.median(times) <= TARGET_S})
    result = {"model": segmenter.name, "image": frame.name, "size": [image.shape[1], image.shape[0]],
              "build_s": round(build_s, 3), "threads": measured, "target_s": TARGET_S}
    result["meta"] = pages.meta("segment_speed.py", sys.argv[1:], begun)
    print(json.dumps(result, indent=2))
    if args.out:
        pages.write(args.out, result)


if __name__ == "__main__":
    main()

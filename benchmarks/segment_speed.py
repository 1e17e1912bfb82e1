"""Median time for the embedded segmenter to segment one 480x360 CamVid frame (target: at most 1 s).

The model is built and run once before timing, so the figure is steady-state inference (resize, tiles, softmax,
class map) as ``--roi auto`` pays it per image, not the one-off build.

    python benchmarks/segment_speed.py [--data ../shared/data/camvid] [--runs 15] [--model swin-pico-camvid]
                                       [--threads N]

On a machine shared with other jobs, torch's spinning worker threads can slow each other down badly; ``--threads 1``
then gives the steadier figure.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from roicodec.segment import EMBEDDED, load_segmenter

TARGET_S = 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
                        / "camvid")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--model", default=EMBEDDED)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    frame = sorted((args.data / "val").glob("*.jpg"))[0]
    image = np.asarray(Image.open(frame).convert("RGB"))
    tic = time.perf_counter()
    segmenter = load_segmenter(args.model)
    build_s = time.perf_counter() - tic
    segmenter(image)
    times = []
    for _ in range(args.runs):
        tic = time.perf_counter()
        segmenter(image)
        times.append(time.perf_counter() - tic)
    median = statistics.median(times)
    print(json.dumps({"model": segmenter.name, "image": frame.name, "size": [image.shape[1], image.shape[0]],
                      "torch_threads": torch.get_num_threads(), "runs": args.runs, "build_s": round(build_s, 3),
                      "median_s": round(median, 4), "min_s": round(min(times), 4), "target_s": TARGET_S,
                      "meets_target": median <= TARGET_S}, indent=2))


if __name__ == "__main__":
    main()

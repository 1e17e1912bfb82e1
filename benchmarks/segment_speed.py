"""Median time for each installed embedded segmenter to segment one image, per megapixel (target: at most 1 s).

Each model is timed on an image of its kind: the CamVid model on a 480x360 CamVid frame, the salient-object model on
Kodak's kodim01 (768x512), the nuclei model on the first BBBC039 image (696x520, 16-bit). The model is built and run
once before timing, so the figure is steady-state inference (normalisation, resize, tiles, softmax, class map) as
``--roi auto`` pays it per image, not the one-off build. Each is timed with torch's own thread count and with one
thread, in the same process (one untimed run after each change). Models whose weights are not installed are listed
as skipped.

    python benchmarks/segment_speed.py [--data ../shared/data] [--runs 15] [--models NAME,...] [--threads N,...]
                                       [--out docs/results/segment_speed.json]

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

from roicodec.segment import EMBEDDED, NUCLEI, SALIENT, installed, load_segmenter

TARGET_S_PER_MP = 1.0


def images(data: Path) -> dict[str, Path]:
    return {EMBEDDED: min((data / "camvid" / "val").glob("*.jpg")), SALIENT: data / "kodak" / "kodim01.png",
            NUCLEI: min((data / "bbbc039" / "images").glob("*.png"))}


def main() -> None:
    begun = pages.begin()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--models", help=f"comma-separated (default: {SALIENT},{NUCLEI},{EMBEDDED})")
    parser.add_argument("--threads", help="torch thread counts, comma-separated (default: torch's own, then 1)")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    counts = [int(n) for n in args.threads.split(",")] if args.threads else [torch.get_num_threads(), 1]
    counts = list(dict.fromkeys(counts))
    default_threads = torch.get_num_threads()
    paths = images(args.data)
    names = args.models.split(",") if args.models else [SALIENT, NUCLEI, EMBEDDED]
    models, skipped = [], []
    for name in names:
        if not installed(name):
            skipped.append({"model": name, "why": "weights not installed"})
            continue
        torch.set_num_threads(default_threads)
        image = np.asarray(Image.open(paths[name]))
        megapixels = image.shape[0] * image.shape[1] / 1e6
        tic = time.perf_counter()
        segmenter = load_segmenter(name)
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
            median = statistics.median(times)
            measured.append({"torch_threads": torch.get_num_threads(), "runs": args.runs,
                             "median_s": round(median, 4), "min_s": round(min(times), 4),
                             "s_per_mp": round(median / megapixels, 4),
                             "meets_target": median / megapixels <= TARGET_S_PER_MP})
        models.append({"model": name, "image": paths[name].name, "size": [image.shape[1], image.shape[0]],
                       "dtype": str(image.dtype), "megapixels": round(megapixels, 4), "build_s": round(build_s, 3),
                       "threads": measured})
    result = {"models": models, "skipped": skipped, "target_s_per_mp": TARGET_S_PER_MP}
    result["meta"] = pages.meta("segment_speed.py", sys.argv[1:], begun)
    print(json.dumps(result, indent=2))
    if args.out:
        pages.write(args.out, result)


if __name__ == "__main__":
    main()

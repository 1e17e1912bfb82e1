"""Score a segmenter on CamVid: IoU per class and their mean over the 11 classes, printed as JSON.

    python -m training.evaluate_segmenter --data ../shared/data/camvid --split val

Inference goes through the same :class:`Segmenter` path as ``--roi auto``, so the figures are those of what ships.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from roicodec.segment.metrics import class_iou, confusion
from roicodec.segment.segmenter import load_segmenter
from roicodec.segment.sources import EMBEDDED
from training.camvid import CLASSES, load_split


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate_segmenter", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="CamVid folder with val/ and valannot/")
    parser.add_argument("--split", default="val", choices=("train", "val"))
    parser.add_argument("--model", default=EMBEDDED, help="a model name or local config (must predict CamVid's 11)")
    parser.add_argument("--checkpoint", help="weights replacing the model's own")
    args = parser.parse_args(argv)

    segmenter = load_segmenter(args.model, args.checkpoint)
    if tuple(c.lower() for c in segmenter.classes) != tuple(c.lower() for c in CLASSES):
        raise SystemExit(f"{segmenter.name} does not predict CamVid's classes: {segmenter.classes}")
    images, labels = load_split(args.data, args.split)
    matrix = np.zeros((len(CLASSES), len(CLASSES)), np.int64)
    tic = time.perf_counter()
    for image, label in zip(images, labels):
        matrix += confusion(segmenter(image).labels, label, len(CLASSES))
    iou = class_iou(matrix)
    report = {"model": segmenter.name, "checkpoint": args.checkpoint, "data": str(args.data), "split": args.split,
              "images": len(images), "mIoU": round(float(np.nanmean(iou)), 4),
              "pixel_accuracy": round(float(np.trace(matrix) / matrix.sum()), 4),
              # null: a class absent from both truth and prediction, left out of the mean.
              "IoU": {name: None if np.isnan(v) else round(float(v), 4) for name, v in zip(CLASSES, iou)},
              "seconds": round(time.perf_counter() - tic, 1),
              "command": " ".join(["python -m training.evaluate_segmenter", *(sys.argv[1:] if argv is None else argv)])}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Score a segmenter on a dataset's report sets (or CamVid's whole val) through the ``--roi auto`` path, as JSON.

    python -m training.evaluate_segmenter --dataset ecssd [--checkpoint out/seg-ecssd/swin-pico-salient.npz]
    python -m training.evaluate_segmenter --dataset nuclei
    python -m training.evaluate_segmenter --dataset camvid [--split val]

Inference goes through the same :class:`Segmenter` as ``--roi auto``, on the images as they are stored (a 16-bit
BBBC039 image goes in as 16 bits), so the figures are those of what ships. Binary models (ECSSD, nuclei): the
foreground IoU of each image (1 where truth and prediction are both empty), averaged over images (``iou``), and the
pooled IoU over all pixels (``pooled_iou``); beside them, on the same images, the baselines: for ECSSD a centred box
of half the width and height, for nuclei Otsu's threshold (scikit-image ``threshold_otsu`` on the gray or luma
image, bright objects for fluorescence and dark ones for brightfield and stained images, the rule of
``roicodec.segment.choose.modality``), plain and after a Gaussian blur of 2 pixels (``--roi otsu``'s default), with
the figures per modality. CamVid: IoU per class and their mean.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from roicodec import digest
from roicodec.segment.choose import FLUORESCENCE
from roicodec.segment.metrics import class_iou, confusion
from roicodec.segment.segmenter import Segmenter, load_segmenter
from roicodec.segment.sources import resolve
from roicodec.segment.threshold import otsu_mask
from training.segdata import Item
from training.splits import DEFAULT_DATA

DATASETS = ("camvid", "ecssd", "nuclei")


def dataset_module(name: str) -> Any:
    from training import camvid, ecssd, nuclei

    return {"camvid": camvid, "ecssd": ecssd, "nuclei": nuclei}[name]


def overlap(pred: np.ndarray, truth: np.ndarray) -> tuple[int, int]:
    """(intersection, union) of two boolean masks."""
    return int(np.count_nonzero(pred & truth)), int(np.count_nonzero(pred | truth))


def centre_box(shape: tuple[int, ...]) -> np.ndarray:
    """A box of half the width and height in the middle of the image: a photograph's subject is often there."""
    h, w = shape[:2]
    box = np.zeros((h, w), bool)
    box[h // 4:h // 4 + h // 2, w // 4:w // 4 + w // 2] = True
    return box


def otsu(item: Item, smoothing: float) -> np.ndarray:
    return otsu_mask(item.image, smoothing, invert=item.modality != FLUORESCENCE)


Method = Callable[[Item], np.ndarray]


def _summary(pairs: list[tuple[int, int]]) -> dict[str, float | int]:
    per_image = [i / u if u else 1.0 for i, u in pairs]
    inter, union = sum(i for i, _ in pairs), sum(u for _, u in pairs)
    return {"images": len(pairs), "iou": round(float(np.mean(per_image)), 4),
            "pooled_iou": round(inter / union if union else 1.0, 4)}


def score_binary(methods: dict[str, Method], items: list[Item]) -> dict[str, Any]:
    """Every method's figures on ``items``, overall and per modality (where the items have one)."""
    pairs: dict[str, list[tuple[int, int]]] = {m: [] for m in methods}
    for item in items:
        truth = item.label.astype(bool)
        for name, method in methods.items():
            pairs[name].append(overlap(method(item), truth))
    out: dict[str, Any] = {name: _summary(p) for name, p in pairs.items()}
    modalities = sorted({item.modality for item in items if item.modality})
    if modalities:
        out["by_modality"] = {
            mod: {name: _summary([p for p, item in zip(pairs[name], items) if item.modality == mod])
                  for name in methods} for mod in modalities}
    return out


def baselines(dataset: str) -> dict[str, Method]:
    if dataset == "ecssd":
        return {"centre_box": lambda item: centre_box(item.image.shape)}
    if dataset == "nuclei":
        return {"otsu": lambda item: otsu(item, 0.0), "otsu_blur2": lambda item: otsu(item, 2.0)}
    return {}


def score_camvid(segmenter: Segmenter, items: list[Item], classes: tuple[str, ...]) -> dict[str, Any]:
    matrix = np.zeros((len(classes), len(classes)), np.int64)
    for item in items:
        matrix += confusion(segmenter(item.image).labels, item.label, len(classes))
    iou = class_iou(matrix)
    return {"images": len(items), "mIoU": round(float(np.nanmean(iou)), 4),
            "pixel_accuracy": round(float(np.trace(matrix) / matrix.sum()), 4),
            # null: a class absent from both truth and prediction, left out of the mean.
            "IoU": {name: None if np.isnan(v) else round(float(v), 4) for name, v in zip(classes, iou)}}


def report(dataset: str, sets: dict[str, list[Item]], model: str, checkpoint: str | None,
           threshold: str | None = None) -> dict[str, Any]:
    """The figures of ``model`` (with ``checkpoint``, if given) on each of ``sets``; ``threshold`` replaces a binary
    model's own decision threshold (a number, or ``"likelier"`` for the likelier class)."""
    segmenter = load_segmenter(model, checkpoint)
    if threshold is not None:
        segmenter = copy.copy(segmenter)  # the cached one keeps its own
        segmenter.threshold = None if threshold == "likelier" else float(threshold)
    classes = dataset_module(dataset).CLASSES
    if tuple(c.lower() for c in segmenter.classes) != tuple(c.lower() for c in classes):
        raise SystemExit(f"{segmenter.name} does not predict {dataset}'s classes {classes}: {segmenter.classes}")
    tic = time.perf_counter()
    out: dict[str, Any] = {}
    for name, items in sets.items():
        if dataset == "camvid":
            out[name] = score_camvid(segmenter, items, classes)
        else:
            out[name] = score_binary({"model": lambda item: segmenter(item.image).labels == 1, **baselines(dataset)},
                                     items)
    weights = Path(resolve(model, checkpoint).checkpoint)
    return {"model": segmenter.name, "checkpoint": checkpoint, "weights_sha256": digest.sha256(weights).hex()[:16],
            "dataset": dataset, "threshold": segmenter.threshold, "mirror": segmenter.mirror,
            **({} if segmenter.refine is None else {"refine": segmenter.refine}), "sets": out,
            "seconds": round(time.perf_counter() - tic, 1)}


def report_sets(dataset: str, data: Path, split: str = "report") -> dict[str, list[Item]]:
    """The dataset's report sets, or (CamVid, ``split="val"``) CamVid's whole val as one set."""
    module = dataset_module(dataset)
    if split == "val":
        if dataset != "camvid":
            raise SystemExit("--split val is CamVid's own val split: the other datasets report on their report sets")
        folder = data / "camvid"
        return {"val": [Item(p.stem, *module.read(folder, "val", p.stem)) for p in module.frames(folder, "val")]}
    return module.report_sets(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.evaluate_segmenter", description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=DATASETS, default="camvid")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--split", default="report", choices=("report", "val"),
                        help="report: the dataset's report sets (they chose nothing); val: CamVid's whole val")
    parser.add_argument("--model", help="a model name or local config (default: the dataset's embedded model)")
    parser.add_argument("--checkpoint", help="weights replacing the model's own")
    parser.add_argument("--threshold", help="a binary model's decision threshold on class 1 in place of its own "
                        "(likelier: the likelier class)")
    args = parser.parse_args(argv)
    sets = report_sets(args.dataset, args.data, args.split)
    model = args.model or {"camvid": "camvid", "ecssd": "salient", "nuclei": "nuclei"}[args.dataset]
    result = report(args.dataset, sets, model, args.checkpoint, args.threshold)
    result["split"] = args.split
    result["command"] = " ".join(["python -m training.evaluate_segmenter", *(sys.argv[1:] if argv is None else argv)])
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

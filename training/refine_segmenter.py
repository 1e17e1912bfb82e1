"""Give an installed binary segmenter its refinement (``training.segmenter.choose_refinement``: GrabCut seeded by its
probability, or none) chosen on its selection split, without training, and score it once more on the report split:

    python -m training.refine_segmenter --dataset ecssd --work out/seg-ecssd-3r
    python -m training.export out/seg-ecssd-3r/swin-pico-salient.npz
    python -m training.segmenter_cards --work out/seg-ecssd-3r

The installed weights are copied into ``--work`` (the package's file is replaced only by ``training.export``), with
the training log committed for them (``docs/results/segmenters/NAME.jsonl``) as the run's ``log.jsonl``, so that
``training.segmenter_cards --work`` finds what a training run leaves. Runs trained from now on make the same choice at
their end.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from roicodec import atomic, weights
from roicodec.segment import sources
from training.evaluate_segmenter import dataset_module
from training.segmenter import choose_refinement, finish
from training.segmenter_cards import RESULTS
from training.splits import DEFAULT_DATA


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m training.refine_segmenter", description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=("ecssd", "nuclei"), required=True)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--work", type=Path, required=True, help="where the refined weights and the report go")
    args = parser.parse_args(argv)
    dataset = dataset_module(args.dataset).load(args.data)
    installed = sources.weights_path(dataset.name)
    meta = weights.read_meta(installed)
    if "threshold" not in meta:
        parser.error(f"{installed.name} has no decision threshold: it predates the decision step; retrain it")
    args.work.mkdir(parents=True, exist_ok=True)
    out = args.work / installed.name
    if not out.exists():
        atomic.write_bytes(out, installed.read_bytes())
    log = args.work / "log.jsonl"
    if not log.exists():
        atomic.write_bytes(log, (RESULTS / f"{dataset.name}.jsonl").read_bytes())
    choose_refinement(dataset, out)
    path = finish(dataset, args.data, out, args.work, argv, program="python -m training.refine_segmenter")
    print(f"report: {path}; into the package: python -m training.export {out}, then python -m "
          f"training.segmenter_cards --work {args.work}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

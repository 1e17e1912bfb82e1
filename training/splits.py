"""Deterministic splits of the shared data: which images train, which choose the checkpoint, which only report.

A set's images are ordered by the SHA-256 of ``KEY/name`` and cut into consecutive runs of given shares, so the
split depends on the file names only (not on the order a folder lists them, nor on a random generator), and the
*report* images chose nothing: no checkpoint, no threshold, no recipe setting was picked on them. Each split is also
committed as ``training/splits/DATASET.json`` (``python -m training.splits`` writes them; a test checks that they
still match the data).

    python -m training.splits [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "splits"
DEFAULT_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def carve(names: list[str], key: str, shares: dict[str, float | None]) -> dict[str, list[str]]:
    """``names`` cut into the splits of ``shares`` (fractions of the whole, in order, each at least one image; ``None``:
    all the rest), each listed sorted."""
    ordered = sorted(names, key=lambda n: hashlib.sha256(f"{key}/{n}".encode()).hexdigest())
    out, start = {}, 0
    for split, share in shares.items():
        stop = len(ordered) if share is None else start + max(1, round(share * len(ordered)))
        if stop > len(ordered) or stop == start:
            raise ValueError(f"{key}: {len(ordered)} images are too few for the splits {', '.join(shares)}")
        out[split] = sorted(ordered[start:stop])
        start = stop
    return out


def file_for(dataset: str) -> Path:
    return FOLDER / f"{dataset}.json"


def write(dataset: str, rule: str, splits: dict[str, list[str]]) -> Path:
    path = file_for(dataset)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"dataset": dataset, "rule": rule, "counts": {k: len(v) for k, v in splits.items()},
                                "splits": splits}, indent=1) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    from training import camvid, ecssd, nuclei

    parser = argparse.ArgumentParser(prog="python -m training.splits", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    args = parser.parse_args(argv)
    for module in (camvid, ecssd, nuclei):
        print(f"wrote {write(module.DATASET, module.SPLIT_RULE, module.splits(args.data))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Weight files: arrays in an ``.npz`` plus a JSON meta block. ``.npz`` loads without pickle, so a weight file
cannot run code. Every model of the package (base layer, preview head, segmenter) is stored this way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from roicodec import atomic


def write(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any], *, compressed: bool = False) -> Path:
    """Write ``arrays`` and ``meta`` to ``path`` through a temporary file, so a stopped run leaves no half file."""
    data = dict(arrays, meta=np.frombuffer(json.dumps(meta, sort_keys=True).encode(), np.uint8))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic.replacing(path) as f:
        (np.savez_compressed if compressed else np.savez)(f, **data)
    return path


def read(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(meta, arrays)`` of a weight file."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return json.loads(arrays.pop("meta").tobytes()), arrays


def read_meta(path: Path) -> dict[str, Any]:
    """The meta block alone, without reading the arrays."""
    with np.load(path, allow_pickle=False) as npz:
        return json.loads(npz["meta"].tobytes())

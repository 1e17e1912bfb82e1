"""Weight files: arrays in an ``.npz`` plus a JSON meta block. ``.npz`` loads without pickle, so a weight file
cannot run code. Every model of the package (base layer, preview head, segmenter) is stored this way."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator, Mapping
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


class Arrays(Mapping[str, np.ndarray]):
    """A weight file's arrays, each read when first asked for: a reader needs the decoder's share of a model, not the
    encoder's (half of a base file, and every table of another family). The file is read into memory once, so no
    handle stays open; members are decompressed on demand, under a lock (an ``NpzFile`` is not thread-safe)."""

    def __init__(self, path: Path) -> None:
        self._npz = np.load(io.BytesIO(Path(path).read_bytes()), allow_pickle=False)
        self._keys = dict.fromkeys(k for k in self._npz.files if k != "meta")  # ordered, and O(1) to test
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def meta(self) -> dict[str, Any]:
        return json.loads(self._npz["meta"].tobytes())

    def __getitem__(self, key: str) -> np.ndarray:
        with self._lock:
            if key not in self._cache:
                if key not in self._keys:
                    raise KeyError(key)
                self._cache[key] = self._npz[key]
            return self._cache[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)


def read(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(meta, arrays)`` of a weight file, every array read."""
    meta, arrays = open_arrays(path)
    return meta, dict(arrays)


def open_arrays(path: Path) -> tuple[dict[str, Any], Arrays]:
    """``(meta, arrays)`` of a weight file, the arrays read as they are used (:class:`Arrays`)."""
    arrays = Arrays(path)
    return arrays.meta(), arrays


def read_meta(path: Path) -> dict[str, Any]:
    """The meta block alone, without reading the arrays."""
    with np.load(path, allow_pickle=False) as npz:
        return json.loads(npz["meta"].tobytes())

"""Segmenter weight files: parameters as float16 in an ``.npz`` plus a JSON meta block; loading needs no pickle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch


def save_weights(path: Path, state: "dict[str, torch.Tensor]", meta: dict[str, Any]) -> Path:
    """Write ``state`` (floats halved to float16 to fit the package's size budget) and ``meta`` to ``path``."""
    arrays = {}
    for key, value in state.items():
        array = value.detach().cpu().numpy()
        arrays[f"param/{key}"] = array.astype(np.float16) if array.dtype.kind == "f" else array
    arrays["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)
    return path


def read_meta(path: Path) -> dict[str, Any]:
    """The meta block alone, without reading the parameters or importing torch."""
    with np.load(path, allow_pickle=False) as npz:
        return json.loads(npz["meta"].tobytes())


def load_weights(path: Path) -> "tuple[dict[str, Any], dict[str, torch.Tensor]]":
    """Return ``(meta, state_dict)``, floats back as float32."""
    import torch

    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(npz["meta"].tobytes())
        state = {k[len("param/"):]: torch.from_numpy(npz[k].astype(np.float32) if npz[k].dtype.kind == "f" else npz[k])
                 for k in npz.files if k.startswith("param/")}
    return meta, state

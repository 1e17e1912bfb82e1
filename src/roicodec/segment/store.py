"""Segmenter weight files: parameters as float16 in an ``.npz`` plus a JSON meta block; loading needs no pickle."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from roicodec import weights

if TYPE_CHECKING:
    import torch


def save_weights(path: Path, state: dict[str, torch.Tensor], meta: dict[str, Any]) -> Path:
    """Write ``state`` (floats halved to float16 to fit the package's size budget) and ``meta`` to ``path``."""
    arrays = {}
    for key, value in state.items():
        array = value.detach().cpu().numpy()
        arrays[f"param/{key}"] = array.astype(np.float16) if array.dtype.kind == "f" else array
    return weights.write(path, arrays, meta, compressed=True)


def load_weights(path: Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Return ``(meta, state_dict)``, floats back as float32."""
    import torch

    meta, arrays = weights.read(path)
    state = {k[len("param/"):]: torch.from_numpy(v.astype(np.float32) if v.dtype.kind == "f" else v)
             for k, v in arrays.items() if k.startswith("param/")}
    return meta, state

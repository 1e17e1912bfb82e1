"""Weight files: one ``.npz`` per model holding parameters, integer coding tables and a JSON recipe.

``.npz`` loads without pickle, so a weight file cannot run code. The file's SHA-256 is the model's identity: the
``.roi`` header records it, and decoding with any other file is refused.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from torch import nn


def save_model(path: Path, name: str, model: "nn.Module", offsets: np.ndarray, freqs: list[np.ndarray],
               recipe: dict[str, Any]) -> Path:
    """Write ``model``'s parameters and coding tables to ``path`` (``.npz``) and return the path."""
    arrays = {f"param/{k}": v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    arrays["offsets"] = offsets.astype(np.int32)
    for c, f in enumerate(freqs):
        arrays[f"freq/{c}"] = f.astype(np.uint32)
    meta = {"name": name, "architecture": type(model).__name__, "latent_channels": len(freqs), "recipe": recipe}
    arrays["meta"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)
    return path


def digest(path: Path) -> bytes:
    """The first 8 bytes of the file's SHA-256: what the ``.roi`` header stores as the model's hash."""
    return hashlib.sha256(path.read_bytes()).digest()[:8]


def read_arrays(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Return ``(meta, arrays)`` of a weight file without importing torch."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays.pop("meta").tobytes())
    return meta, arrays

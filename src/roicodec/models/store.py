"""Base-layer weight files: parameters, integer coding tables and a JSON recipe (see :mod:`roicodec.weights`).

The file's SHA-256 is the model's identity: the ``.roi`` header records it, and decoding with any other file is
refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from roicodec import weights
from roicodec.digest import cached_sha256

if TYPE_CHECKING:
    from torch import nn


def save_model(path: Path, name: str, model: nn.Module, offsets: np.ndarray, freqs: list[np.ndarray],
               recipe: dict[str, Any], config: dict[str, Any] | None = None) -> Path:
    """Write ``model``'s parameters and coding tables to ``path`` (``.npz``) and return the path.

    ``config`` holds the architecture's constructor arguments beyond ``latent_channels``.
    """
    arrays = {f"param/{k}": v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    arrays["offsets"] = offsets.astype(np.int32)
    for c, f in enumerate(freqs):
        arrays[f"freq/{c}"] = f.astype(np.uint32)
    meta = {"name": name, "architecture": type(model).__name__, "latent_channels": len(freqs), "recipe": recipe}
    if config:
        meta["config"] = config
    return weights.write(path, arrays, meta)


def digest(path: Path) -> bytes:
    """The first 8 bytes of the file's SHA-256: what the ``.roi`` header stores as the model's hash."""
    return cached_sha256(path)[:8]

"""Read a checkpoint (local path or URL) into ``(meta, state_dict)``.

``.npz`` files (the embedded model) load without pickle. PyTorch files load with ``weights_only=True``, which refuses
to run code; only a file whose bytes match the SHA-256 prefix in its own name (an official model-zoo download) may
fall back to a full load, since mmseg's older checkpoints can keep non-tensor objects in their meta.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from roicodec.errors import RoiError
from roicodec.segment import cache
from roicodec.segment.store import load_weights

if TYPE_CHECKING:
    import torch


def local_path(location: str | Path) -> Path:
    """A local file for ``location``: a URL is fetched into the cache first."""
    path = cache.fetch(str(location)) if cache.is_url(location) else Path(location).expanduser()
    if not path.is_file():
        raise RoiError(f"checkpoint {str(location)!r} not found")
    return path


def read_checkpoint(location: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Return ``(meta, state_dict)`` of a checkpoint; mmengine's ``state_dict``/``meta`` nesting is unwrapped."""
    path = local_path(location)
    if path.suffix == ".npz":
        return load_weights(path)
    import pickle

    import torch

    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not cache.hash_verified(path):
            raise RoiError(f"{path} holds objects other than tensors and its name carries no matching SHA-256, so it "
                           f"is not loaded (that could run code): save only its state_dict") from exc
        data = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(data, dict):
        raise RoiError(f"{path} is not a checkpoint: expected a dict of tensors, found {type(data).__name__}")
    state = data.get("state_dict", data)
    meta = data.get("meta", {}) if "state_dict" in data else {}
    return (meta if isinstance(meta, dict) else {}), state

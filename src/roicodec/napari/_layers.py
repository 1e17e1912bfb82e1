"""A ``.roi`` file as napari layer data, and back: the pixels and description that a saved layer carries.

A file becomes one image layer whose first axis is the level (0 = base), so that a slider flips between levels and
one layer holds every level's figures in ``metadata["roicodec"]``, plus the ROI as a labels layer. The image layer
also keeps the file's own bytes, so that saving it unchanged writes the same file instead of coding it a second time.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import numpy as np

import roicodec
from roicodec.errors import RoiError

LayerData = tuple[Any, dict[str, Any], str]
KEY = "roicodec"
"""This plugin's entry in ``layer.metadata``."""
LEVEL_AXIS = "level"


def digest(pixels: np.ndarray) -> str:
    """A fingerprint of the pixels, to tell whether a layer still shows what its file decodes to."""
    return hashlib.blake2b(np.ascontiguousarray(pixels).tobytes(), digest_size=16).hexdigest()


def roi_layers(data: bytes, default_name: str, *, name: str | None = None) -> list[LayerData]:
    """Image layer (level axis first) and ROI labels layer of the ``.roi`` file ``data``.

    The layer's name comes from ``name``, else the file's description, else ``default_name``; its scale and
    translation from the description.
    """
    with roicodec.open(data) as f:
        levels = np.stack(f.decode_all())
        # A file cut before its mask still shows its base; only the mask is unknown then.
        mask = None if f.qualities and f.levels < 2 else f.mask
        description = f.metadata
        info = {
            "levels": [asdict(level) for level in f.level_info],
            "levels_in_header": f.header.levels,
            "qualities": list(f.qualities),
            "model": {"name": f.model[0], "hash": f.model[1]},
            "file": data,
            "digest": digest(levels[-1]),
        }
    name = name or _text(description.get("name")) or default_name
    scale = _pair(description.get("scale"), 1.0, positive=True)
    translate = _pair(description.get("translate"), 0.0)
    layers: list[LayerData] = [(levels, {
        "name": name, "rgb": levels.ndim == 4, "scale": (1.0, *scale), "translate": (0.0, *translate),
        "axis_labels": (LEVEL_AXIS, "y", "x"), "contrast_limits": (0, 255), "metadata": {KEY: info},
    }, "image")]
    if mask is not None:
        layers.append((mask.astype(np.uint8), {
            "name": f"{name} ROI", "scale": scale, "translate": translate, "axis_labels": ("y", "x"),
            "opacity": 0.4,
        }, "labels"))
    return layers


def describe(meta: Mapping[str, Any]) -> dict[str, Any]:
    """What a ``.roi`` file keeps of a layer: its name, and the scale and translation of its two image axes."""
    return {"name": str(meta.get("name", "")), "scale": [float(s) for s in meta.get("scale", (1.0, 1.0))[-2:]],
            "translate": [float(t) for t in meta.get("translate", (0.0, 0.0))[-2:]]}


def image_pixels(data: Any, meta: Mapping[str, Any]) -> np.ndarray:
    """The 8-bit ``HxW`` or ``HxWx3`` image that coding a layer starts from.

    A layer read from a ``.roi`` gives its top level. Other dtypes map through the layer's contrast limits to
    0..255: what the viewer shows is what gets coded.
    """
    name = meta.get("name", "image")
    if meta.get("multiscale"):
        data = data[0]
    arr = np.asarray(data)
    rgb = bool(meta.get("rgb"))
    plane = 3 if rgb else 2
    if KEY in meta.get("metadata", {}) and arr.ndim == plane + 1:
        arr = arr[-1]
    if arr.ndim != plane:
        raise RoiError(f"layer {name!r} has shape {arr.shape}: roicodec codes one 2D image (gray or RGB); "
                       "take a single plane first")
    if rgb and arr.shape[-1] != 3:
        hint = "drop the alpha channel" if arr.shape[-1] == 4 else "keep three channels"
        raise RoiError(f"layer {name!r} has {arr.shape[-1]} colour channels: roicodec codes RGB; {hint}")
    if arr.dtype == np.uint8:
        return arr
    low, high = meta.get("contrast_limits") or (float(arr.min()), float(arr.max()))
    span = (high - low) or 1.0
    return np.clip(np.rint((arr.astype(np.float64) - low) * (255.0 / span)), 0, 255).astype(np.uint8)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _pair(value: Any, default: float, *, positive: bool = False) -> tuple[float, float]:
    """Two finite numbers (positive if asked) from a description any writer may have made; else the default."""
    if isinstance(value, list) and len(value) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and (v > 0 or not positive)
            for v in value):
        return float(value[0]), float(value[1])
    return default, default


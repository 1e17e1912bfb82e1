"""A ``.roi`` file as napari layer data, and back: the pixels and description that a saved layer carries.

A file becomes one image layer whose first axis is the level (0 = base), so that a slider flips between levels and
one layer holds every level's figures in ``metadata["roicodec"]``, plus the ROI as a labels layer. The image layer
also keeps the file's own bytes, so that saving it unchanged writes the same file instead of coding it a second time.
"""

from __future__ import annotations

import hashlib
import itertools
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
PIXEL = "pixel"
"""napari's unit for an axis without one (the level axis, and a file's axes that name none)."""


def digest(pixels: np.ndarray) -> str:
    """A fingerprint of the pixels, to tell whether a layer still shows what its file decodes to."""
    return hashlib.blake2b(np.ascontiguousarray(pixels).tobytes(), digest_size=16).hexdigest()


class _LazyLevels:
    """The levels of a stack as an array-like that decodes a (level, plane) only when dask asks for it."""

    def __init__(self, data: bytes, f: roicodec.RoiFile) -> None:
        self.data = data
        self.planes = f.planes
        self.shape = (f.levels, *f.shape)
        self.dtype = np.dtype(np.uint8)
        self.ndim = len(self.shape)

    def __getitem__(self, key: Any) -> np.ndarray:
        # dask asks chunk by chunk (a chunk is one level of one plane), or with integers once it fuses a selection:
        # decode each (level, plane) the key covers, then apply the rest of the key to the image axes.
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (self.ndim - len(key))
        lead = len(self.planes) + 1
        ranges = [range(self.shape[i])[k] if isinstance(k, slice) else [range(self.shape[i])[k]]
                  for i, k in enumerate(key[:lead])]
        with roicodec.open(self.data) as f:
            blocks = np.stack([f.decode(index[0], index[1:])[key[lead:]] for index in itertools.product(*ranges)])
        out = blocks.reshape(*(len(r) for r in ranges), *blocks.shape[1:])
        squeeze = tuple(i for i, k in enumerate(key[:lead]) if not isinstance(k, slice))
        return out.squeeze(axis=squeeze) if squeeze else out


def _lazy(data: bytes, f: roicodec.RoiFile) -> Any:
    import dask.array as da

    levels = _LazyLevels(data, f)
    chunks = (1,) * (len(f.planes) + 1) + levels.shape[len(f.planes) + 1:]
    return da.from_array(levels, chunks=chunks, asarray=False, meta=np.empty((0,) * levels.ndim, np.uint8))


def roi_layers(data: bytes, default_name: str, *, name: str | None = None) -> list[LayerData]:
    """Image layer (level axis first) and ROI labels layer of the ``.roi`` file ``data``.

    A stack keeps its leading axes after the level axis and decodes lazily, a plane and level at a time, as napari
    shows them. The layer's name comes from ``name``, else the file's description, else ``default_name``; the scale,
    translation, units and labels of every image axis from the description (the level axis: 1, 0, pixels, ``level``).
    """
    with roicodec.open(data) as f:
        if f.planes:
            levels = _lazy(data, f)
            fingerprint = {"dask_name": levels.name}
        else:
            levels = np.stack(f.decode_all())
            fingerprint = {"digest": digest(levels[-1])}
        # A file cut before its mask still shows its base; only the mask is unknown then.
        mask = None if f.qualities and f.levels < 2 else f.mask
        description = f.metadata
        info = {
            "levels": [asdict(level) for level in f.level_info],
            "levels_in_header": f.header.levels,
            "qualities": list(f.qualities),
            "model": {"name": f.model[0], "hash": f.model[1]},
            "planes": list(f.planes),
            "file": data,
            **fingerprint,
        }
        lead = len(f.planes)
    name = name or _text(description.get("name")) or default_name
    axes = lead + 2  # the file's image axes: a stack's leading axes, then Y and X
    scale = _numbers(description.get("scale"), axes, 1.0, positive=True)
    translate = _numbers(description.get("translate"), axes, 0.0)
    units = _units(description.get("units"), axes)
    default_labels = ("plane",) if lead == 1 else tuple(f"plane{i}" for i in range(lead))
    labels = _labels(description.get("axis_labels"), axes) or (*default_labels, "y", "x")
    rgb = levels.ndim == lead + 4

    def placed(ndim: int, level_axis: bool) -> dict[str, Any]:
        """Scale, translation, units and labels of the file's last ``ndim`` axes, after the level axis if asked."""
        def put(first: Any, values: tuple[Any, ...]) -> tuple[Any, ...]:
            return ((first,) if level_axis else ()) + values[axes - ndim:]

        out = {"scale": put(1.0, scale), "translate": put(0.0, translate), "axis_labels": put(LEVEL_AXIS, labels)}
        if units is not None:
            out["units"] = put(PIXEL, units)
        return out

    layers: list[LayerData] = [(levels, {
        "name": name, "rgb": rgb, **placed(axes, True), "contrast_limits": (0, 255), "metadata": {KEY: info},
    }, "image")]
    if mask is not None:
        layers.append((mask.astype(np.uint8), {"name": f"{name} ROI", **placed(mask.ndim, False), "opacity": 0.4},
                       "labels"))
    return layers


def describe(meta: Mapping[str, Any], axes: int) -> dict[str, Any]:
    """What a ``.roi`` file keeps of a layer: its name, and per image axis its scale, translation and units.

    ``axes`` counts the coded image's axes (a stack's leading axes, then Y and X): the layer's last ``axes`` values
    are kept, which leaves out a ``.roi`` layer's level axis (the file's levels, not an axis of the image). Axis labels
    are kept only where someone set them, not napari's defaults (``-3``, ``-2``, ``-1``).
    """
    out: dict[str, Any] = {"name": str(meta.get("name", ""))}
    for key, default in (("scale", 1.0), ("translate", 0.0)):
        values = [float(v) for v in meta.get(key) or ()][-axes:]
        out[key] = [default] * (axes - len(values)) + values
    if meta.get("units") is not None:
        units = [str(u) for u in meta["units"]][-axes:]
        out["units"] = [PIXEL] * (axes - len(units)) + units
    labels = [str(label) for label in meta.get("axis_labels") or ()]
    if len(labels) >= axes and labels != [str(i - len(labels)) for i in range(len(labels))]:
        out["axis_labels"] = labels[-axes:]
    return out


DESCRIBED = ("scale", "translate", "units", "axis_labels")
"""The keys of a file's description that :func:`describe` writes: a re-described file drops the old ones first."""


def image_pixels(data: Any, meta: Mapping[str, Any]) -> np.ndarray:
    """The 8-bit image (``(..., Y, X)`` gray or ``(..., Y, X, 3)`` RGB) that coding a layer starts from.

    A layer read from a ``.roi`` gives its top level. Other dtypes map through the layer's contrast limits to
    0..255: what the viewer shows is what gets coded.
    """
    name = meta.get("name", "image")
    if meta.get("multiscale"):
        data = data[0]
    rgb = bool(meta.get("rgb"))
    if KEY in meta.get("metadata", {}):
        data = data[-1]  # the level axis comes first
    arr = np.asarray(data)
    plane = 3 if rgb else 2
    if arr.ndim < plane:
        raise RoiError(f"layer {name!r} has shape {arr.shape}: roicodec codes 2D images (gray or RGB) and stacks "
                       "of them")
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


def _numbers(value: Any, axes: int, default: float, *, positive: bool = False) -> tuple[float, ...]:
    """One finite number (positive if asked) per image axis from a description any writer may have made.

    Files from before stacks kept their scale for Y and X alone: a stack's leading axes then take the default.
    """
    if isinstance(value, list) and len(value) in (2, axes) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and (v > 0 or not positive)
            for v in value):
        return (default,) * (axes - len(value)) + tuple(float(v) for v in value)
    return (default,) * axes


def _units(value: Any, axes: int) -> tuple[str, ...] | None:
    """Units napari can parse, one per image axis (Y and X alone: the leading axes in pixels); else ``None``."""
    if not (isinstance(value, list) and len(value) in (2, axes) and all(isinstance(v, str) and v for v in value)):
        return None
    try:
        import pint  # napari's units are pint's; without napari there is no layer to give them to
    except ImportError:
        pass
    else:
        registry = pint.get_application_registry()
        try:
            for unit in value:
                registry.parse_units(unit)
        except (pint.errors.PintError, ValueError, TypeError, AttributeError, AssertionError):
            return None
    return (PIXEL,) * (axes - len(value)) + tuple(value)


def _labels(value: Any, axes: int) -> tuple[str, ...] | None:
    """Distinct, non-empty axis labels, one per image axis and none named like the level axis; else ``None``."""
    if (isinstance(value, list) and len(value) == axes and all(isinstance(v, str) and v for v in value)
            and len(set(value)) == axes and LEVEL_AXIS not in value):
        return tuple(value)
    return None

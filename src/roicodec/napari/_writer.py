"""npe2 writer: an image layer, and optionally a labels layer whose non-zero pixels are the ROI, to a ``.roi`` file.

Without a labels layer the ROI is the file's own mask when the image came from a ``.roi`` file, else the whole
image. A layer read from a ``.roi`` whose pixels and ROI are unchanged is saved from the file's own coded layers,
read from the file again, with its new name and scale: coding decoded pixels again would lose quality for nothing. A
layer with more than two axes is a stack (``(..., Y, X)`` gray or ``(..., Y, X, 3)`` RGB), coded plane by plane into
one file; the file keeps the scale, translation and units of every axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import roicodec
from roicodec.atomic import write_bytes
from roicodec.errors import RoiError
from roicodec.napari._layers import (
    DESCRIBED,
    KEY,
    LayerData,
    SourceGoneError,
    describe,
    file_roi,
    image_pixels,
    is_reader_array,
    origin,
)
from roicodec.napari._roi import labels_mask


class LayerNotSavedError(RuntimeError):
    """Why the selected layers cannot be saved as ``.roi``, in one line.

    Deliberately not a ``ValueError`` (as :class:`~roicodec.errors.RoiError` is): napari takes a ``ValueError`` from
    a writer to mean "this writer does not apply", drops its message and tells the user only that roicodec "is not a
    valid writer". Any other exception reaches the caller of ``viewer.layers.save``, and in the application napari's
    error notification, with this message.
    """


def write_roi(path: str, layer_data: list[LayerData]) -> list[str]:
    """Save one image layer and at most one labels layer (npe2 passes them as ``(data, meta, type)`` tuples).

    Raises :class:`LayerNotSavedError` (leaving ``path`` as it was) when the layers cannot be coded.
    """
    try:
        images = [layer for layer in layer_data if layer[2] == "image"]
        labels = [layer for layer in layer_data if layer[2] == "labels"]
        if len(images) != 1 or len(labels) > 1 or len(images) + len(labels) != len(layer_data):
            raise RoiError("a .roi file holds one image and at most one labels layer (its ROI): select just those")
        data, meta, _ = images[0]
        write_bytes(path, encode_layer(data, meta, labels[0][0] if labels else None))
    except RoiError as exc:
        raise LayerNotSavedError(f"{path} not saved: {exc}") from exc
    return [path]


def encode_layer(data: Any, meta: dict[str, Any], labels: Any | None = None) -> bytes:
    """The ``.roi`` bytes of an image layer's data and state, with ``labels`` (non-zero = ROI) if given."""
    info = meta.get("metadata", {}).get(KEY)
    rgb = bool(meta.get("rgb"))
    if info is None:
        pixels = image_pixels(data, meta)
        return roicodec.encode(pixels, _mask(labels, pixels, meta), metadata=describe(meta, pixels.ndim - rgb),
                               rgb=rgb)
    description = describe(meta, len(info["planes"]) + 2)
    lazy = is_reader_array(data, info)
    pixels = None if lazy else image_pixels(data, meta)
    try:
        coded = origin(info)
        with coded.open() as fp, roicodec.open(fp) as f:
            file_mask = file_roi(f)
            # The reader's own array shows the file's pixels; any other array is compared with the file's top level.
            same_pixels = pixels is None or (pixels.shape == f.shape
                                             and np.array_equal(pixels, f.decode(coded.levels - 1)))
            if labels is None:
                mask = file_mask
            else:
                mask = _mask(labels, np.empty(f.shape, np.uint8) if pixels is None else pixels, meta)
            if same_pixels and (labels is None or (file_mask is not None and np.array_equal(mask, file_mask))):
                # The layer's axes replace the file's, even where it no longer has one (napari's default labels).
                kept = {key: value for key, value in f.metadata.items() if key not in DESCRIBED}
                return roicodec.redescribe(fp, {**kept, **description})
    except SourceGoneError as exc:
        # New pixels and an ROI of their own need nothing from the file; anything else does.
        if lazy:
            raise
        if labels is None:
            raise SourceGoneError(f"{exc}; to code the layer's pixels again, select its ROI labels layer with it") \
                from None
        assert pixels is not None
        mask = _mask(labels, pixels, meta)
    pixels = image_pixels(data, meta) if pixels is None else pixels
    # Coded again with the file's own ladder (files read before ladders were recorded here: their JPEG qualities).
    ladder = {"ladder": info["layers"]} if "layers" in info else {"qualities": info["qualities"]}
    return roicodec.encode(pixels, mask, **ladder, model=info["model"]["name"], metadata=description, rgb=rgb)


def _mask(labels: Any | None, pixels: np.ndarray, meta: dict[str, Any]) -> np.ndarray | None:
    """The ROI from ``labels``: one ``(Y, X)`` mask for every plane, or one per plane of a stack."""
    if labels is None:
        return None
    yx = pixels.shape[-3:-1] if meta.get("rgb") else pixels.shape[-2:]
    lead = pixels.shape[:len(pixels.shape) - (3 if meta.get("rgb") else 2)]
    arr = np.asarray(labels)
    if lead and arr.shape == (*lead, *yx):
        return arr != 0
    return labels_mask(arr, yx)

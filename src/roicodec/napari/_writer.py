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
    """Save one image layer, or several as the channels of one image, and at most one labels layer (npe2 passes
    them as ``(data, meta, type)`` tuples).

    Raises :class:`LayerNotSavedError` (leaving ``path`` as it was) when the layers cannot be coded.
    """
    try:
        images = [layer for layer in layer_data if layer[2] == "image"]
        labels = [layer for layer in layer_data if layer[2] == "labels"]
        if not images or len(labels) > 1 or len(images) + len(labels) != len(layer_data):
            raise RoiError("a .roi file holds one image (or its channels, one layer each) and at most one labels "
                           "layer (its ROI): select just those")
        roi = labels[0][0] if labels else None
        if len(images) == 1:
            data, meta, _ = images[0]
            write_bytes(path, encode_layer(data, meta, roi))
        else:
            write_bytes(path, encode_channels([(data, meta) for data, meta, _ in images], roi))
    except RoiError as exc:
        raise LayerNotSavedError(f"{path} not saved: {exc}") from exc
    return [path]


def encode_layer(data: Any, meta: dict[str, Any], labels: Any | None = None) -> bytes:
    """The ``.roi`` bytes of an image layer's data and state, with ``labels`` (non-zero = ROI) if given."""
    info = meta.get("metadata", {}).get(KEY)
    rgb = bool(meta.get("rgb"))
    if info is None or "channel" in info:  # one channel of a file alone is an image of its own
        pixels = image_pixels(data, meta)
        description = describe(meta, pixels.ndim - rgb)
        if pixels.dtype != np.uint8 and meta.get("contrast_limits") is not None:
            description["contrast_limits"] = [[float(v) for v in meta["contrast_limits"]]]
        return roicodec.encode(pixels, _mask(labels, pixels, meta), metadata=description, rgb=rgb)
    description = describe(meta, len(info["planes"]) + 2)
    lazy = is_reader_array(data, info)
    pixels = None if lazy else image_pixels(data, meta)
    icc = b""  # the file's colour profile, which the layer's pixels keep when they are coded again
    try:
        coded = origin(info)
        with coded.open() as fp, roicodec.open(fp) as f:
            icc = f.icc_profile or b""
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
    return roicodec.encode(pixels, mask, **ladder, model=info["model"]["name"], metadata=description, rgb=rgb,
                           icc_profile=icc)


def encode_channels(layers: list[tuple[Any, dict[str, Any]]], labels: Any | None = None) -> bytes:
    """The ``.roi`` bytes of image layers that are the channels of one image (each ``(..., Y, X)``, the same shape
    and dtype), named by the layers' names, with each layer's contrast limits; ``labels`` is the ROI of every
    channel. Channel layers read from one ``.roi`` file, unchanged and all there, keep its coded image."""
    infos = [meta.get("metadata", {}).get(KEY) for _, meta in layers]
    first = infos[0]
    if first is not None and first.get("axes") and all(
            info is not None and info.get("fingerprint") == first["fingerprint"] and "channel" in info
            for info in infos):
        # The file's channel order, whatever order the layers were selected in.
        order = sorted(range(len(layers)), key=lambda i: infos[i]["channel"])
        layers, infos = [layers[i] for i in order], [infos[i] for i in order]
    channel = first["axes"].index("C") if first is not None and first.get("axes") and "C" in first["axes"] else 0
    names = [str(meta.get("name", "")) for _, meta in layers]
    limits = [[float(v) for v in meta["contrast_limits"]] if meta.get("contrast_limits") is not None else None
              for _, meta in layers]
    data0, meta0 = layers[0]
    if first is not None and all(
            info is not None and info.get("fingerprint") == first["fingerprint"] and info.get("channel") == i
            and is_reader_array(data, info) for i, ((data, _), info) in enumerate(zip(layers, infos))) \
            and len(layers) == first["planes"][channel]:
        coded = origin(first)
        with coded.open() as fp, roicodec.open(fp) as f:
            if not _same_roi(labels, f, channel):
                return roicodec.encode(_stacked(layers, channel, names), _mask(labels, np.empty(f.shape, f.dtype),
                                                                               {"rgb": False}, channel),
                                       metadata=_channel_description(meta0, f.shape, channel, names, limits),
                                       axes=first["axes"], ladder=first["layers"], model=first["model"]["name"])
            kept = {key: value for key, value in f.metadata.items() if key not in DESCRIBED}
            description = describe(meta0, len(first["planes"]) + 2, channel)
            return roicodec.redescribe(fp, {**kept, **description, "channels": names,
                                            **({"contrast_limits": limits} if None not in limits else {})})
    others = np.ndim(image_pixels(data0, meta0)) - 2
    if first is not None and first.get("axes") and len(first["axes"]) == others + 3:
        axes = first["axes"]
    else:
        if others > 2:
            raise RoiError(f"channel layers of {others + 2} axes: roicodec codes channels with at most two more "
                           "(e.g. T and Z)")
        axes, channel = "C" + "TZ"[2 - others:] + "YX", 0
    image = _stacked(layers, channel, names)
    description = _channel_description(meta0, image.shape, channel, names, limits)
    options: dict[str, Any] = {}
    if first is not None:
        options = {"ladder": first["layers"], "model": first["model"]["name"]}
    mask = None if labels is None else _mask(labels, image, {"rgb": False}, channel)
    return roicodec.encode(image, mask, metadata=description, axes=axes, **options)


def _stacked(layers: list[tuple[Any, dict[str, Any]]], channel: int, names: list[str]) -> np.ndarray:
    pixels = [image_pixels(data, meta) for data, meta in layers]
    if len({(p.shape, p.dtype) for p in pixels}) != 1 or any(meta.get("rgb") for _, meta in layers):
        raise RoiError("channel layers must be gray images of one shape and dtype: "
                       + ", ".join(f"{n!r} {p.shape} {p.dtype}" for n, p in zip(names, pixels)))
    return np.stack(pixels, axis=channel)


def _channel_description(meta: dict[str, Any], shape: tuple[int, ...], channel: int, names: list[str],
                         limits: list[list[float] | None]) -> dict[str, Any]:
    description = {**describe(meta, len(shape), channel), "channels": names}
    if None not in limits:
        description["contrast_limits"] = limits
    return description


def _same_roi(labels: Any | None, f: roicodec.RoiFile, channel: int) -> bool:
    """Whether ``labels`` (``None``: the file's own) mark the file's ROI, one mask per plane or shared by channels."""
    file_mask = file_roi(f)
    if labels is None:
        return True
    if file_mask is None:
        return False
    mask = _mask(labels, np.empty(f.shape, np.uint8), {"rgb": False}, channel)
    assert mask is not None
    if mask.ndim == file_mask.ndim - 1:
        mask = np.expand_dims(mask, channel)
    elif file_mask.ndim == mask.ndim - 1:
        file_mask = np.expand_dims(file_mask, channel)
    try:
        return bool((np.broadcast_to(mask, np.broadcast_shapes(mask.shape, file_mask.shape))
                     == np.broadcast_to(file_mask, np.broadcast_shapes(mask.shape, file_mask.shape))).all())
    except ValueError:
        return False


def _mask(labels: Any | None, pixels: np.ndarray, meta: dict[str, Any], channel: int | None = None
          ) -> np.ndarray | None:
    """The ROI from ``labels``: one ``(Y, X)`` mask for every plane, or one per plane of a stack (with a channel
    axis, one per plane of its other axes too: every channel shares it)."""
    if labels is None:
        return None
    yx = pixels.shape[-3:-1] if meta.get("rgb") else pixels.shape[-2:]
    lead = pixels.shape[:len(pixels.shape) - (3 if meta.get("rgb") else 2)]
    arr = np.asarray(labels)
    if lead and arr.shape == (*lead, *yx):
        return arr != 0
    if channel is not None and lead and arr.shape == (*lead[:channel], *lead[channel + 1:], *yx) and arr.ndim > 2:
        return arr != 0
    return labels_mask(arr, yx)

"""Dock widget "Encode with ROI": code an image layer with an ROI from a layer, a threshold or the segmenter."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import napari
import numpy as np
from magicgui.widgets import (CheckBox, ComboBox, Container, FileEdit, FloatSpinBox, Label, LineEdit, PushButton,
                              SpinBox, Widget)
from napari.layers import Image, Labels, Layer, Shapes

import roicodec
from roicodec import options
from roicodec.atomic import write_bytes
from roicodec.container import Layer as CodedLayer
from roicodec.errors import RoiError
from roicodec.models import registry
from roicodec.napari._evaluate import Point, level_points
from roicodec.napari._layers import KEY, LayerData, describe, image_pixels, roi_layers
from roicodec.napari._roi import AUTO, grow, labels_mask, model_choices, otsu_mask, semantic_available, semantic_mask
from roicodec.napari.qt._common import figures_table, layer_choices, show_points, start

MaskJob = Callable[[], "np.ndarray | None"]
"""Makes the ROI off the GUI thread (``None``: the whole image)."""


@dataclass(frozen=True)
class RoiSource:
    """One entry of the "ROI from" list: the options it shows, and how it turns an image into a mask job.

    ``prepare`` runs on the GUI thread, so it may read layers; the job it returns runs in the worker.
    """

    name: str
    options: tuple[Widget, ...]
    prepare: Callable[[np.ndarray, Image], MaskJob]


class EncodeWidget(Container):
    """Pick an image, an ROI source and a ladder; encode in a worker; add the levels; show and save the result."""

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        # Labels only beside the inputs: the table and the status line get the dock's full width.
        super().__init__(labels=False)
        self._viewer = napari_viewer
        self._image = ComboBox(name="image", label="Image", choices=layer_choices(napari_viewer, Image))
        self._labels = ComboBox(name="labels_layer", label="Labels", choices=layer_choices(napari_viewer, Labels))
        self._shapes = ComboBox(name="shapes_layer", label="Shapes", choices=layer_choices(napari_viewer, Shapes))
        self._smoothing = FloatSpinBox(name="smoothing", label="Smoothing σ", value=2.0, min=0.0, max=50.0,
                                       step=0.5, tooltip="Gaussian blur in pixels before the threshold; 0 for none")
        self._invert = CheckBox(name="invert", label="Dark objects", value=False,
                                tooltip="pixels at or below the threshold (brightfield nuclei, EM membranes)")
        self._segmenter = ComboBox(name="segmenter", label="Model", value=AUTO,
                                   choices=model_choices() if semantic_available() else [("auto", AUTO)],
                                   tooltip="auto: the model that fits the image (as --roi auto); or name one")
        self._grow = SpinBox(name="grow", label="Grow (px)", value=0, min=0, max=64,
                             tooltip="dilate the ROI by this many pixels so that object edges are inside it")
        self.sources = {source.name: source for source in self._roi_sources()}
        """The "ROI from" choices by name; extend :meth:`_roi_sources` to add one."""
        self._source = ComboBox(name="roi_source", label="ROI from", choices=list(self.sources))
        self._ladder = LineEdit(name="ladder", label="Layers",
                                value=",".join(options.LADDERS[options.DEFAULT_LADDER]),
                                tooltip="enhancement layers, lowest first: avif:Q, jpeg:Q (Q 1-100), near:K (every ROI "
                                        "pixel within ±K), exact; or a ladder's name: "
                                        + ", ".join(options.LADDERS))
        self._model = ComboBox(name="base_model", label="Base model", choices=list(registry.available()),
                               value=registry.DEFAULT, tooltip=registry.CHOICES_HELP)
        self._run = PushButton(name="encode_button", text="Encode")
        self._status = Label(name="status", value="")
        self._table = figures_table(rows=5)
        self._path = FileEdit(name="save_path", label="Save to", mode="w", filter="*.roi")
        self._save = PushButton(name="save_button", text="Save .roi", enabled=False)
        self.extend([
            Container(widgets=[self._image, self._source, self._labels, self._shapes, self._smoothing, self._invert,
                               self._segmenter, self._grow, self._ladder, self._model]),
            self._run, self._status, self._table, Container(widgets=[self._path]), self._save,
        ])
        self._source.changed.connect(self._show_options)
        self._run.changed.connect(self.encode)
        self._save.changed.connect(self.save)
        self._show_options()
        self.worker: Any = None
        """The last encoding's worker (tests wait on it)."""
        self.result: bytes | None = None
        """The last encoded ``.roi`` file."""

    def _roi_sources(self) -> list[RoiSource]:
        sources = [
            RoiSource("Whole image", (), lambda pixels, image: lambda: None),
            RoiSource("Labels layer", (self._labels,), self._from_labels),
            RoiSource("Shapes layer", (self._shapes,), self._from_shapes),
            RoiSource("Threshold (Otsu)", (self._smoothing, self._invert, self._grow), self._from_threshold),
        ]
        if semantic_available():
            sources.append(RoiSource("Semantic (Swin)", (self._segmenter, self._grow), self._from_segmenter))
        return sources

    def _show_options(self) -> None:
        chosen = self.sources[self._source.value].options
        for source in self.sources.values():
            for widget in source.options:
                widget.visible = widget in chosen

    def _from_labels(self, pixels: np.ndarray, image: Image) -> MaskJob:
        if self._labels.value is None:
            raise RoiError("no labels layer to take the ROI from: add one (non-zero = ROI) or pick another source")
        mask = labels_mask(self._labels.value.data, pixels.shape[:2])
        return lambda: mask

    def _from_shapes(self, pixels: np.ndarray, image: Image) -> MaskJob:
        shapes = self._shapes.value
        if shapes is None or not len(shapes.data):
            raise RoiError("no shapes to take the ROI from: draw rectangles or polygons on a shapes layer")
        # Shapes may sit on another grid than the image (scale, translation): rasterise them in the image's pixels.
        outlines = [np.array([image.world_to_data(shapes.data_to_world(v))[-2:] for v in vertices])
                    for vertices in shapes.data]
        mask = Shapes(outlines, shape_type=list(shapes.shape_type)).to_labels(pixels.shape[:2]) != 0
        return lambda: mask

    def _from_threshold(self, pixels: np.ndarray, image: Image) -> MaskJob:
        smoothing, invert, pixels_grow = self._smoothing.value, self._invert.value, self._grow.value
        return lambda: grow(otsu_mask(pixels, smoothing, invert), pixels_grow)

    def _from_segmenter(self, pixels: np.ndarray, image: Image) -> MaskJob:
        model, pixels_grow = self._segmenter.value, self._grow.value
        return lambda: semantic_mask(pixels, model, pixels_grow)

    def encode(self) -> None:
        """Start encoding the chosen image; the result arrives in :meth:`_show`."""
        self._status.value = ""
        try:
            image = self._image.value
            if image is None:
                raise RoiError("no image layer to encode: open or add one")
            data, meta, _ = image.as_layer_data_tuple()
            pixels = image_pixels(data, meta)
            job = self.sources[self._source.value].prepare(pixels, image)
            ladder = options.parse_ladder(self._ladder.value)
        except RoiError as exc:
            self._status.value = str(exc)
            return
        self._run.enabled = False
        self._status.value = "encoding…"
        description = describe(meta, pixels.ndim - bool(meta.get("rgb")))
        self.worker = start(_encode, pixels, job, ladder, self._model.value, description, f"{image.name} encoded",
                            desc="Encoding .roi", steps=3, status=self._status, done=self._show,
                            after=lambda: setattr(self._run, "enabled", True))

    def _show(self, result: tuple[bytes, list[LayerData], list[Point]]) -> None:
        self.result, layers, points = result
        added = [self._viewer.add_layer(Layer.create(*layer)) for layer in layers]
        # napari starts a new axis in its middle or at 0; show the top level, the one the file is for.
        levels = added[0]
        self._viewer.dims.set_current_step(self._viewer.dims.ndim - levels.ndim, levels.data.shape[0] - 1)
        show_points(self._table, points)
        self._status.value = f"{len(self.result)} bytes, {levels.data.shape[0]} levels"
        self._save.enabled = True

    def save(self) -> None:
        """Write the last result to the chosen path (``.roi`` added if missing)."""
        path = Path(self._path.value)
        if self.result is None or path.is_dir():
            self._status.value = "choose a file to save to"
            return
        path = path if path.suffix == ".roi" else path.with_name(path.name + ".roi")
        try:
            write_bytes(path, self.result)
        except OSError as exc:
            self._status.value = f"could not save: {exc}"
            return
        self._status.value = f"saved {path}"


def _encode(pixels: np.ndarray, job: MaskJob, ladder: tuple[CodedLayer, ...], model: str, description: dict[str, Any],
            name: str) -> Iterator[None]:
    mask = job()
    yield
    data = roicodec.encode(pixels, mask, ladder=ladder, model=model, metadata=description)
    yield
    layers = roi_layers(data, name, name=name)
    with roicodec.open(data) as f:
        levels = f.decode_all()  # the table's PSNR needs every level; the layer decodes what it shows on its own
    points = level_points(layers[0][1]["metadata"][KEY]["levels"], levels, pixels, mask)
    yield
    return data, layers, points

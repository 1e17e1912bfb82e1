"""Dock widget "Segment ROI (Swin)": an automatic ROI, from a segmenter or Otsu's threshold, shown over the image.

Every segmenter by name is offered ("auto" picks the one that fits the image, as ``--roi auto`` does); the result is
the class map and the ROI as Labels layers over the image, the ROI's outline drawn. The "Encode with ROI" widget can
then take the ROI layer (or make the same ROI itself, its "Semantic (Swin)" and "Threshold (Otsu)" sources).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import napari
import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, Label, LineEdit, PushButton, SpinBox
from napari.layers import Image

from roicodec import options
from roicodec.errors import RoiError
from roicodec.napari._layers import image_pixels
from roicodec.napari._roi import AUTO, grow, model_choices, otsu_mask
from roicodec.napari.qt._common import layer_choices, start

OTSU = "otsu"


def _segment(pixels: np.ndarray, model: str, classes: tuple[str, ...] | None, invert: bool,
             pixels_grow: int) -> Iterator[None]:
    if model == OTSU:
        result: tuple[np.ndarray, Any] = (grow(otsu_mask(pixels, invert=invert), pixels_grow), None)
    else:
        from roicodec.segment import segment_roi

        result = segment_roi(pixels, model, classes, grow=pixels_grow)
    yield
    return result


class SegmentWidget(Container):
    """Pick an image layer, a model (or Otsu) and options; segment in a worker; add class map and ROI."""

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__(labels=False)
        self._viewer = napari_viewer
        self._image = ComboBox(name="image", label="Image", choices=layer_choices(napari_viewer, Image))
        self._model = ComboBox(name="model", label="Model", value=AUTO,
                               choices=[*model_choices(), ("Otsu threshold (no model)", OTSU)],
                               tooltip="auto: microscopy (gray, more than 8 bits, stain-like colour) to the nuclei "
                                       "model, other photographs to the salient-object one; or name a model")
        self._classes = LineEdit(name="classes", label="ROI classes", value="",
                                 tooltip="comma-separated class names; empty: the model's ROI classes")
        self._invert = CheckBox(name="invert", label="Dark objects", value=False,
                                tooltip="Otsu: pixels at or below the threshold (brightfield nuclei, EM membranes)")
        self._grow = SpinBox(name="grow", label="Grow (px)", value=0, min=0, max=64,
                             tooltip="dilate the ROI by this many pixels so that object edges are inside it")
        self._run = PushButton(name="segment_button", text="Segment")
        self._status = Label(name="status", value="")
        self.extend([Container(widgets=[self._image, self._model, self._classes, self._invert, self._grow]), self._run,
                     self._status])
        self._run.changed.connect(self.segment)
        self._model.changed.connect(self._show_options)
        self._show_options()
        self.worker: Any = None
        """The last run's worker (tests wait on it)."""

    def _show_options(self) -> None:
        self._invert.visible = self._model.value == OTSU
        self._classes.visible = self._model.value != OTSU

    def segment(self) -> None:
        image = self._image.value
        if image is None:
            self._status.value = "no image layer: open or add one"
            return
        try:
            data, meta, _ = image.as_layer_data_tuple()
            pixels = image_pixels(data, meta)
            if pixels.ndim != (3 if meta.get("rgb") else 2):
                raise RoiError("the segmenter takes one 2D image: choose a single plane")
        except RoiError as exc:
            self._status.value = str(exc)
            return
        classes = options.parse_list(self._classes.value) or None
        self._run.enabled = False
        self._status.value = "segmenting…"
        name, scale, translate = image.name, image.scale[-2:], image.translate[-2:]

        def done(result: tuple[np.ndarray, Any]) -> None:
            mask, segmentation = result
            if segmentation is not None:
                self._viewer.add_labels(segmentation.labels, name=f"{name} classes", scale=scale, translate=translate,
                                        metadata={"classes": list(segmentation.classes)}, opacity=0.3,
                                        visible=len(segmentation.classes) > 2)
            roi = self._viewer.add_labels(mask.astype(np.uint8), name=f"{name} ROI", scale=scale,
                                          translate=translate, opacity=0.6)
            roi.contour = 2  # the outline, so the image inside the ROI stays visible
            if segmentation is None:
                how = f"Otsu threshold, {'dark' if self._invert.value else 'bright'} objects"
            else:
                found = sorted({segmentation.classes[i] for i in np.unique(segmentation.labels)})
                how = f"model {segmentation.model} ({segmentation.reason}); classes found: {', '.join(found)}"
            self._status.value = f"ROI {mask.mean():.0%} of the image; {how}"

        self.worker = start(_segment, pixels, self._model.value, classes, self._invert.value, self._grow.value,
                            desc="segmenting", steps=1, status=self._status, done=done,
                            after=lambda: setattr(self._run, "enabled", True))

"""Dock widget "Segment ROI (Swin)": the segmenter's class map and the ROI of chosen classes, as two Labels layers.

The "Encode with ROI" widget can then take the ROI layer (or run the segmenter itself, its "Semantic (Swin)" source).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import napari
import numpy as np
from magicgui.widgets import ComboBox, Container, Label, LineEdit, PushButton
from napari.layers import Image

from roicodec import options
from roicodec.errors import RoiError
from roicodec.napari._layers import image_pixels
from roicodec.napari.qt._common import layer_choices, start


def _segment(pixels: np.ndarray, model: str | None, classes: tuple[str, ...] | None) -> Iterator[None]:
    from roicodec.segment import segment_roi

    rgb = np.repeat(pixels[..., None], 3, axis=2) if pixels.ndim == 2 else pixels
    result = segment_roi(rgb, model, classes)
    yield
    return result


class SegmentWidget(Container):
    """Pick an image layer, a model and (optionally) ROI classes; segment in a worker; add class map and ROI."""

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        super().__init__(labels=False)
        self._viewer = napari_viewer
        self._image = ComboBox(name="image", label="Image", choices=layer_choices(napari_viewer, Image))
        names = options.roi_model_names()
        self._model = LineEdit(name="model", label="Model", value=names[0],
                               tooltip=f"{names[0]} (embedded), {', '.join(names[1:])} (downloaded once), or a local "
                                       "mmseg config .py")
        self._classes = LineEdit(name="classes", label="ROI classes", value="",
                                 tooltip="comma-separated class names; empty: the model's object classes")
        self._run = PushButton(name="segment_button", text="Segment")
        self._status = Label(name="status", value="")
        self.extend([Container(widgets=[self._image, self._model, self._classes]), self._run, self._status])
        self._run.changed.connect(self.segment)
        self.worker: Any = None
        """The last run's worker (tests wait on it)."""

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
            self._viewer.add_labels(segmentation.labels, name=f"{name} classes", scale=scale, translate=translate,
                                    metadata={"classes": list(segmentation.classes)}, opacity=0.5)
            self._viewer.add_labels(mask.astype(np.uint8), name=f"{name} ROI", scale=scale, translate=translate,
                                    opacity=0.4)
            found = sorted({segmentation.classes[i] for i in np.unique(segmentation.labels)})
            self._status.value = f"ROI {mask.mean():.0%} of the image; classes found: {', '.join(found)}"

        self.worker = start(_segment, pixels, self._model.value.strip() or None, classes, desc="segmenting",
                            steps=1, status=self._status, done=done,
                            after=lambda: setattr(self._run, "enabled", True))

"""Dock widget "Inspect .roi": a coded layer's figures per level and its rate-distortion plot against JPEG."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

import napari
import numpy as np
from magicgui.widgets import ComboBox, Container, Label
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from napari.layers import Image

import roicodec
from roicodec.errors import RoiError
from roicodec.napari._evaluate import Point, jpeg_points, level_points
from roicodec.napari._layers import KEY, Origin, SourceGoneError, file_roi, image_pixels, origin
from roicodec.napari.qt._common import figures_table, layer_choices, show_points, start


class InspectWidget(Container):
    """Table and plot of a ``.roi`` layer's levels; with the original open, PSNR and JPEG at the same rates."""

    def __init__(self, napari_viewer: napari.Viewer) -> None:
        # Labels only beside the pickers: the table and the status line get the dock's full width.
        super().__init__(labels=False)
        self._layer = ComboBox(name="roi_layer", label=".roi layer",
                               choices=layer_choices(napari_viewer, Image, coded=True))
        self._original = ComboBox(name="original", label="Original", nullable=True,
                                  choices=layer_choices(napari_viewer, Image, coded=False),
                                  tooltip="the image the file was coded from: gives PSNR and JPEG")
        self._status = Label(name="status", value="")
        self._table = figures_table(rows=9)
        self.figure = Figure(figsize=(4, 3), layout="constrained")
        self._canvas = FigureCanvasQTAgg(self.figure)
        self._canvas.setMinimumHeight(280)
        self.extend([Container(widgets=[self._layer, self._original]), self._status, self._table])
        self.native.layout().addWidget(self._canvas)
        self._layer.changed.connect(self._pick_original)
        self._original.changed.connect(self.refresh)
        self.worker: Any = None
        """The last evaluation's worker (tests wait on it)."""
        self._generation = 0
        self._pick_original()

    def reset_choices(self, *_: Any) -> None:
        """napari calls this when layers come and go; an original that appears is picked up."""
        super().reset_choices()
        if self._original.value is None:
            self._pick_original()

    def _pick_original(self) -> None:
        """Unless the original already fits, choose the first plain image layer of the coded layer's size."""
        layer, original = self._layer.value, self._original.value
        plane = None if layer is None else layer.data.shape[1:]
        if plane is not None and (original is None or original.multiscale or original.data.shape != plane):
            match = next((candidate for candidate in self._original.choices
                          if candidate is not None and not candidate.multiscale and candidate.data.shape == plane),
                         None)
            with self._original.changed.blocked():
                self._original.value = match
        self.refresh()

    def refresh(self) -> None:
        """Recompute the figures of the chosen layer in a worker; results of an older request are dropped."""
        self._generation += 1
        layer = self._layer.value
        if layer is None:
            self._status.value = "open a .roi file or encode an image to inspect it"
            show_points(self._table, [])
            self.figure.clear()
            self._canvas.draw_idle()
            return
        original, reference, problem = self._original.value, None, ""
        if original is not None:
            try:
                reference = image_pixels(*original.as_layer_data_tuple()[:2])
            except RoiError as exc:
                problem = str(exc)
            if reference is not None and reference.shape != layer.data.shape[1:]:
                reference, problem = None, f"{original.name!r} is not the size of {layer.name!r}: no PSNR"
        info = layer.metadata[KEY]
        if reference is not None:
            try:
                # Found here, on the GUI thread: the worker then holds what it reads even if the layer goes.
                coded = origin(info)
            except SourceGoneError as exc:
                reference, problem = None, f"{exc}: no PSNR"
        if reference is None:
            # Rates alone come from the layer's metadata: nothing to decode, so no worker.
            self._show(self._generation, layer.name, (level_points(info["levels"]), []))
            self._status.value = problem or self._status.value
            return
        self._status.value = "measuring…"
        self.worker = start(_measure, info, coded, reference, desc="Measuring .roi levels", steps=2,
                            status=self._status, done=partial(self._show, self._generation, layer.name))

    def _show(self, generation: int, name: str, result: tuple[list[Point], list[Point]]) -> None:
        if generation != self._generation:
            return
        levels, jpeg = result
        show_points(self._table, levels + jpeg)
        self._status.value = "" if jpeg else "choose the original to see PSNR and JPEG at the same rates"
        _plot(self.figure, name, levels, jpeg)
        self._canvas.draw_idle()


def _measure(info: dict[str, Any], coded: Origin, original: np.ndarray) -> Iterator[None]:
    # The file's levels, decoded here in one pass (each level refines the one below), not in the GUI thread.
    with coded.open() as fp, roicodec.open(fp) as f:
        mask = file_roi(f)
        levels = f.decode_all(coded.levels - 1)
    points = level_points(info["levels"], levels, original, mask)
    yield
    jpeg = jpeg_points(original, mask, [p.bytes for p in points])
    yield
    return points, jpeg


def _plot(figure: Figure, name: str, levels: Sequence[Point], jpeg: Sequence[Point]) -> None:
    figure.clear()
    ax = figure.add_subplot()
    ax.grid(alpha=0.3)
    ax.set_xlabel("bits per pixel")
    if not jpeg:
        ax.plot([p.bpp for p in levels], range(len(levels)), "o-", color="C0")
        ax.set_yticks(range(len(levels)), [p.setting for p in levels])
        ax.set_title(f"{name}: rate of each level", fontsize="medium")
        return
    for points, colour, marker in ((levels, "C0", "o"), (jpeg, "C1", "s")):
        codec = points[0].codec
        for attr, style, what in (("psnr", "-", "PSNR"), ("roi_psnr", "--", "ROI-PSNR")):
            finite = [(p.bpp, getattr(p, attr)) for p in points if math.isfinite(getattr(p, attr))]
            if finite:
                ax.plot(*zip(*finite), marker + style, color=colour, label=f"{codec} {what}")
    for p in filter(lambda p: math.isfinite(p.roi_psnr), levels):
        ax.annotate(p.setting.split()[0], (p.bpp, p.roi_psnr), textcoords="offset points", xytext=(-6, 6),
                    ha="right", fontsize="small", color="C0")
    ax.set_ylabel("dB")
    ax.set_title(f"{name}: levels and JPEG at their rates", fontsize="medium")
    ax.legend(fontsize="x-small")

"""napari sample data: a photograph and a microscopy image, each coded with its ROI and opened as a ``.roi`` file.

Both ship offline: the astronaut and its hand-drawn ROI in ``roicodec/samples``, the cell in scikit-image's wheel
(``skimage.data.cell``, CC0), whose ROI is the Otsu threshold the encode widget offers. Each sample also adds its
original, hidden, so that the Inspect widget can compare the levels with JPEG at once.
"""

from __future__ import annotations

from importlib.resources import files

import numpy as np
from PIL import Image

import roicodec
from roicodec.napari._layers import LayerData, roi_layers
from roicodec.napari._roi import otsu_mask

CELL_PIXEL_UM = 0.107
"""Pixel spacing of ``skimage.data.cell`` in micrometres, from its documentation."""


def astronaut() -> list[LayerData]:
    """Eileen Collins' NASA portrait (512x512 RGB) with an elliptic ROI over her head."""
    samples = files("roicodec") / "samples"
    image = np.asarray(Image.open(samples / "astronaut.png").convert("RGB"))
    mask = np.asarray(Image.open(samples / "astronaut_roi.png")) != 0
    return _coded("astronaut", image, mask, (1.0, 1.0), "pixel")


def cell() -> list[LayerData]:
    """A cell in saline (quantitative phase, 660x550 gray, 0.107 µm pixels), its ROI from an Otsu threshold."""
    from skimage import data

    image = data.cell()
    return _coded("cell", image, otsu_mask(image, smoothing=2.0), (CELL_PIXEL_UM, CELL_PIXEL_UM), "micrometer")


def _coded(name: str, image: np.ndarray, mask: np.ndarray, scale: tuple[float, float], unit: str) -> list[LayerData]:
    data = roicodec.encode(image, mask, metadata={"name": name, "scale": list(scale), "units": [unit, unit]})
    original = (image, {"name": f"{name} original", "scale": scale, "units": (unit, unit), "visible": False,
                        "contrast_limits": (0, 255), "rgb": image.ndim == 3}, "image")
    return [original, *roi_layers(data, name)]

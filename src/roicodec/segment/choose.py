"""Which embedded model fits an image: the rule behind ``--roi auto``.

1. more than 8 bits per sample (uint16, float): **microscopy**;
2. gray (one plane, or three equal ones): **microscopy**;
3. stain-like colour: a light image (the median pixel's brightest channel at 68 % of full scale or more) whose darkest
   tenth is mostly blue-purple (blue above green and saturation above 0.1 in at least 70 % of those pixels), the
   signature of haematoxylin-stained nuclei on a lit slide: **microscopy**;
4. anything else (8-bit colour): **photograph**.

Microscopy goes to the nuclei model, photographs to the salient-object model. Street scenes are photographs too:
the CamVid model is reached only by name (``--roi-model camvid``), since no rule tells a street from a portrait
reliably. Known misses: a gray photograph goes to the nuclei model, a colour fluorescence composite to the salient
one; name the model for those. The thresholds of rule 3 were set looking at ECSSD, BSDS500, Kodak, CamVid and the
colour images of both DSB2018 sets (docs/segment.md gives how each set is routed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from roicodec.segment.normalise import microscopy_rgb, planes

PHOTOGRAPH, MICROSCOPY = "photograph", "microscopy"
FLUORESCENCE, BRIGHTFIELD, STAINED = "fluorescence", "brightfield", "stained"

LIGHT = 0.68
"""Rule 3: the median of each pixel's brightest channel, as a fraction of 255, at or above which a slide is lit."""
PURPLE = 0.70
"""Rule 3: the fraction of the darkest tenth that must be blue-purple."""
_SAMPLE = 1 << 18


@dataclass(frozen=True)
class Kind:
    """What :func:`image_kind` found: ``kind`` (photograph or microscopy) and the rule that decided, in words."""

    kind: str
    reason: str


def _subsample(a: np.ndarray) -> np.ndarray:
    step = max(1, int(np.sqrt(a.shape[0] * a.shape[1] / _SAMPLE)))
    return a[::step, ::step]


def stain_like(rgb: np.ndarray) -> bool:
    """Rule 3 on an 8-bit HxWx3 image."""
    a = _subsample(rgb).astype(np.float32) / 255.0
    brightest, darkest = a.max(axis=2), a.min(axis=2)
    if np.median(brightest) < LIGHT:
        return False
    saturation = (brightest - darkest) / np.maximum(brightest, 1e-6)
    dark = brightest <= np.percentile(brightest, 10)
    purple = (a[..., 2] > a[..., 1]) & (saturation > 0.1)
    return bool(purple[dark].mean() >= PURPLE)


def image_kind(image: np.ndarray) -> Kind:
    """Photograph or microscopy, by the module's rule."""
    a = planes(image)
    if a.dtype.itemsize > 1:
        return Kind(MICROSCOPY, f"{a.dtype.itemsize * 8}-bit {'gray' if a.ndim == 2 else 'colour'} pixels")
    if a.ndim == 2:
        return Kind(MICROSCOPY, "gray")
    if stain_like(a):
        return Kind(MICROSCOPY, "stain-like colour (light, with blue-purple darks)")
    return Kind(PHOTOGRAPH, "8-bit colour, not stain-like")


def modality(image: np.ndarray) -> str:
    """Fluorescence (gray, dark background), brightfield (gray, light background) or stained (colour).

    Gray images are told apart after :func:`~roicodec.segment.normalise.microscopy_rgb`: a median below mid-scale
    means a dark background. Also the polarity of the Otsu baseline: objects are bright in fluorescence, dark else.
    """
    a = planes(image)
    if a.ndim == 3:
        return STAINED
    return FLUORESCENCE if np.median(_subsample(microscopy_rgb(a))[..., 0]) < 128 else BRIGHTFIELD

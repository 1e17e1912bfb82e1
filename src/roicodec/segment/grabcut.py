"""A binary model's foreground made to follow the image's edges: GrabCut (Rother, Kolmogorov and Blake 2004; OpenCV's
``cv2.grabCut``) seeded with the model's probability, as SaliencyCut (Cheng et al. 2015) seeds it with a saliency map.

The salient model sees every photograph at 256x256 and its probability, resized back, is soft where the subject's
outline is sharp. GrabCut fits a colour model (Gaussian mixtures) to the subject and to the rest and cuts along the
image's edges: pixels the model is sure of (probability within ``sure`` of 0 or 1) stay as they are, the others go to
the side the colours and the edges give, starting from the model's decision. Whether a model uses it, and with what
settings, is chosen on its selection split by the trainer (``training.segmenter.choose_refinement``) and stored with
its weights, as the threshold is.

The cut runs on the image reduced to at most ``side`` pixels on its long side (its cost grows with the pixels; the
model's own resolution is 256), and its mask is resized back. OpenCV's random state is seeded before each cut (its
k-means initialises the mixtures), so one image gives one mask.
"""

from __future__ import annotations

from typing import Any

import numpy as np

REFINEMENT = "grabcut"
"""The value of a weight file's ``refine["method"]`` that this module implements."""


def describe(settings: dict[str, Any]) -> str:
    """One line for a report or card: what the refinement does with these settings."""
    return (f"GrabCut seeded by the probability ({settings['iterations']} iterations, at most {settings['side']} px "
            f"on the long side, sure below {settings['sure']} and above {1 - settings['sure']:g})")


def cut(rgb: np.ndarray, probability: np.ndarray, threshold: float, settings: dict[str, Any]) -> np.ndarray:
    """:func:`follow_edges` with the settings as a weight file stores them (``{"method": "grabcut", ...}``)."""
    return follow_edges(rgb, probability, threshold, **{k: v for k, v in settings.items() if k != "method"})


def follow_edges(rgb: np.ndarray, probability: np.ndarray, threshold: float, side: int, iterations: int,
                 sure: float) -> np.ndarray:
    """The foreground (bool ``HxW``) of an 8-bit ``HxWx3`` image whose model gave ``probability`` (``HxW``) of the
    foreground: GrabCut from the model's decision ``probability >= threshold``. An image whose model saw no
    foreground, or nothing else, keeps the model's decision (there is no colour model to fit for the other side)."""
    import cv2

    decided = probability >= threshold
    if decided.all() or not decided.any():
        return decided
    height, width = probability.shape
    scale = min(1.0, side / max(height, width))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
        p = cv2.resize(np.asarray(probability, np.float32), size, interpolation=cv2.INTER_LINEAR)
    else:
        image, p = rgb, np.asarray(probability, np.float32)
    mask = np.where(p >= threshold, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    mask[p >= 1 - sure] = cv2.GC_FGD
    mask[p <= sure] = cv2.GC_BGD
    cv2.setRNGSeed(0)
    try:
        cv2.grabCut(np.ascontiguousarray(image[:, :, ::-1]), mask, None, np.zeros((1, 65)), np.zeros((1, 65)),
                    iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        # Reduced, one side's pixels can vanish (a sliver of subject): the model's decision stands.
        return decided
    found = (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)
    if scale < 1.0:
        back = cv2.resize(found.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
        found = back >= 0.5
    return found

"""CamVid as SegNet's 11-class version ships it: RGB frames plus label maps, value 11 = unlabelled."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car", "Pedestrian",
           "Bicyclist")
UNLABELLED = 11
# mmseg's and torch's convention for "no label": what UNLABELLED becomes before it meets a loss or a metric.
IGNORE = 255


def load_split(root: Path, split: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Images (uint8 HxWx3) and labels (uint8 HxW, unlabelled mapped to IGNORE) of ``split`` (train or val)."""
    paths = sorted((root / split).glob("*.jpg"))
    if not paths:
        raise FileNotFoundError(f"no CamVid frames under {root / split}: pass the camvid folder of the shared data")
    images, labels = [], []
    for path in paths:
        images.append(np.array(Image.open(path).convert("RGB")))
        label = np.asarray(Image.open(root / f"{split}annot" / f"{path.stem}.png")).copy()
        label[label == UNLABELLED] = IGNORE
        labels.append(label)
    return images, labels

"""CamVid as SegNet's 11-class version ships it: RGB frames plus label maps, value 11 = unlabelled.

Split (``training/splits/camvid.json``): all 367 ``train`` frames train; ``val``'s 101 frames are cut by
:func:`training.splits.carve` into 50 selection (chooses the checkpoint) and 51 report (scored once, at the end).
Val's frames come from video: neighbouring frames fall on both sides, so the report split is held out from the
choice, not independent of the selection frames.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from roicodec.segment.sources import EMBEDDED, EMBEDDED_MODELS
from training.segdata import IGNORE, Dataset, Item, colour_jitter, flips, scaled_crop
from training.splits import carve

DATASET = "camvid"
CLASSES = ("Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car", "Pedestrian",
           "Bicyclist")
UNLABELLED = 11
SHARES = {"selection": 0.5, "report": None}
SPLIT_RULE = "CamVid train's 367 frames train; val's 101 frames ordered by SHA-256 of 'camvid/<file stem>': the " \
             "first 50 selection (chooses the checkpoint), the other 51 report (scored once, at the end)"
ABOUT = ("CamVid, SegNet's 11-class version (Brostow et al. 2008), its frames re-encoded as JPEG at quality 95, "
         "4:4:4, before they reached the shared data (labels untouched); CC BY-NC 4.0")
"""Where the data come from and under what terms, for the model card."""
CONFIG = Path(__file__).resolve().parents[1] / "src" / "roicodec" / "segment" / "configs" / EMBEDDED_MODELS[EMBEDDED].config


def frames(folder: Path, split: str) -> list[Path]:
    paths = sorted((folder / split).glob("*.jpg"))
    if not paths:
        raise FileNotFoundError(f"no CamVid frames under {folder / split}: pass the camvid folder of the shared data")
    return paths


def read(folder: Path, split: str, stem: str) -> tuple[np.ndarray, np.ndarray]:
    """A frame (uint8 HxWx3) and its label (uint8 HxW, unlabelled mapped to IGNORE)."""
    image = np.array(Image.open(folder / split / f"{stem}.jpg").convert("RGB"))
    label = np.asarray(Image.open(folder / f"{split}annot" / f"{stem}.png")).copy()
    label[label == UNLABELLED] = IGNORE
    return image, label


def load_split(folder: Path, split: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Images and labels of CamVid's own ``split`` (train or val) in ``folder`` (the camvid folder)."""
    pairs = [read(folder, split, p.stem) for p in frames(folder, split)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def splits(root: Path) -> dict[str, list[str]]:
    folder = root / "camvid"
    return {"train": [p.stem for p in frames(folder, "train")],
            **carve([p.stem for p in frames(folder, "val")], DATASET, SHARES)}


def sample(image: np.ndarray, label: np.ndarray, crop: int, rng: np.random.Generator):
    img, lab = scaled_crop(image, label, crop, rng, (0.5, 1.5))
    img, lab = flips(img, lab, rng, rotate=False)
    return colour_jitter(img, rng).permute(1, 2, 0), lab


def report_sets(root: Path) -> dict[str, list[Item]]:
    return {"camvid": [Item(n, *read(root / "camvid", "val", n)) for n in splits(root)["report"]]}


def load(root: Path) -> Dataset:
    folder = root / "camvid"
    split = splits(root)
    train = [read(folder, "train", n) for n in split["train"]]
    selection = [read(folder, "val", n) for n in split["selection"]]
    return Dataset(EMBEDDED, DATASET, CONFIG, CLASSES, train, selection, sample,
                   class_weights=True,
                   notes={"data": ABOUT, "split": SPLIT_RULE})

"""ECSSD (Yan et al. 2013): 600 photographs with a binary mask of their salient object, for the "main subject" model.

Split (``training/splits/ecssd.json``): 480 train, 60 selection, 60 report, by :func:`training.splits.carve`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from roicodec.segment.sources import EMBEDDED, EMBEDDED_MODELS, SALIENT
from training.segdata import Dataset, Item, colour_jitter, flips, resize_pair, whole_view
from training.splits import carve

DATASET = "ecssd"
SHARES = {"train": 0.8, "selection": 0.1, "report": None}
SPLIT_RULE = "ECSSD's 600 images ordered by SHA-256 of 'ecssd/<file stem>': the first 480 train, the next 60 " \
             "selection (chooses the checkpoint), the last 60 report (scored once, at the end)"
CLASSES = ("background", "subject")
ABOUT = ("ECSSD (Yan et al. 2013, CUHK), 600 photographs of about 400x300 with binary salient-object masks; "
         "research use")
"""Where the data come from and under what terms, for the model card."""
CONFIG = Path(__file__).resolve().parents[1] / "src" / "roicodec" / "segment" / "configs" / EMBEDDED_MODELS[SALIENT].config


def names(root: Path) -> list[str]:
    found = sorted(p.stem for p in (root / "ecssd" / "images").glob("*.jpg"))
    if not found:
        raise FileNotFoundError(f"no ECSSD images under {root / 'ecssd' / 'images'}: pass the shared data folder")
    return found


def splits(root: Path) -> dict[str, list[str]]:
    return carve(names(root), DATASET, SHARES)


def read(root: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """8-bit RGB (the one gray photograph repeated) and the mask as 0/1."""
    with Image.open(root / "ecssd" / "images" / f"{name}.jpg") as im:
        image = np.asarray(im.convert("RGB"))
    with Image.open(root / "ecssd" / "masks" / f"{name}.png") as im:
        mask = (np.asarray(im.convert("L")) > 127).astype(np.uint8)
    return image, mask


def sample(image: np.ndarray, label: np.ndarray, crop: int, rng: np.random.Generator):
    # Whole views, not crops: the first run, on crops of 40 to 130 % of the short side, scored 0.475 IoU against a
    # centre box's 0.403 (docs/segment.md).
    img, lab = whole_view(image, label, crop, rng, (0.8, 1.0))
    img, lab = flips(img, lab, rng, rotate=False)
    return colour_jitter(img, rng).permute(1, 2, 0), lab


def report_sets(root: Path) -> dict[str, list[Item]]:
    return {"ecssd": [Item(n, *read(root, n)) for n in splits(root)["report"]]}


TRAIN_SHORT_SIDE = 320
"""Training images are kept at this short side (about ECSSD's own), so that a whole view, cut and resized to the
model's square, loses little."""


def squared(image: np.ndarray, label: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Image (bilinear) and label (nearest) as the Segmenter runs a whole-image model: resized to side x side."""
    # Copies (np.array), not PIL's read-only views: the evaluation hands them to torch.
    return (np.array(Image.fromarray(image).resize((side, side), Image.BILINEAR)),
            np.array(Image.fromarray(label).resize((side, side), Image.NEAREST)))


BACKGROUNDS = ("camvid/train", "camvid/val")
"""Photographs a pasted subject is laid over (:class:`Pasting`): street scenes, whose cars and people are small, far
and many, so none of them is a main subject that the composite would label background (BSDS500's photographs,
tried first, are mostly portraits of an animal or a person: laid over, the subject had a rival). None is in
ECSSD, none a benchmark."""
BACKGROUND_SHORT_SIDE = 256
"""Backgrounds are kept at the model's square side: 468 frames at 256 x 341 hold 123 MB."""


def backgrounds(root: Path) -> list[np.ndarray]:
    found = [p for folder in BACKGROUNDS for p in sorted((root / folder).glob("*.jpg"))]
    if not found:
        raise FileNotFoundError(f"no background photographs under {root} ({', '.join(BACKGROUNDS)})")
    out = []
    for path in found:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
        out.append(resize_pair(rgb, np.zeros(rgb.shape[:2], np.uint8), BACKGROUND_SHORT_SIDE)[0])
    return out


class Pasting:
    """:func:`sample`, except that a share of the samples lay the subject over another photograph: the same whole
    view of the training photograph, its mask feathered over one pixel as the blend, over a whole view of a
    background. The subject keeps the place and size it has in its own photograph (where a subject sits is half of
    what makes it one, and the model's position embedding learns it), and only what surrounds it changes: 480
    photographs give 480 subjects, each against hundreds of settings, so the model has to learn the subject's look
    rather than its photograph's (copy-paste augmentation: Ghiasi et al. 2021, for instance segmentation). It did not
    lift the report split (docs/segment.md, the seventh run)."""

    def __init__(self, scenes: list[np.ndarray], share: float) -> None:
        self.scenes = scenes
        self.share = share

    def __call__(self, image: np.ndarray, label: np.ndarray, crop: int, rng: np.random.Generator
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        if rng.random() >= self.share or not label.any():
            return sample(image, label, crop, rng)
        img, lab = whole_view(image, label, crop, rng, (0.8, 1.0))
        scene = self.scenes[int(rng.integers(0, len(self.scenes)))]
        back, _ = whole_view(scene, np.zeros(scene.shape[:2], np.uint8), crop, rng, (0.6, 1.0))
        back = colour_jitter(back, rng)
        alpha = F.avg_pool2d(lab[None, None].float(), 3, stride=1, padding=1, count_include_pad=False)[0]
        img = alpha * img + (1 - alpha) * back
        img, lab = flips(img, lab, rng, rotate=False)
        return colour_jitter(img, rng).permute(1, 2, 0), lab


def load(root: Path, paste: float = 0.0) -> Dataset:
    """``paste``: the share of training samples whose subject is laid over another photograph (:class:`Pasting`)."""
    split = splits(root)
    side = EMBEDDED_MODELS[SALIENT].square
    train = [resize_pair(*read(root, n), TRAIN_SHORT_SIDE) for n in split["train"]]
    originals = [read(root, n) for n in split["selection"]]
    selection = [squared(image, label, side) for image, label in originals]
    notes = {"data": ABOUT, "split": SPLIT_RULE}
    draw = sample
    if paste:
        draw = Pasting(backgrounds(root), paste)
        notes["data"] += (f"; for {paste:.0%} of the training samples the subject is laid over a photograph of "
                          f"{', '.join(BACKGROUNDS)} (CamVid: CC BY-NC 4.0)")
    return Dataset(SALIENT, DATASET, CONFIG, CLASSES, train, selection, draw,
                   init=EMBEDDED,
                   notes=notes, selection_originals=originals)

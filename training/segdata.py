"""What the segmenter trainer needs of a dataset, and the augmentations the datasets share.

A :class:`Dataset` holds its training pairs at the model's working scale and a *selection* split (scored during
training, chooses the checkpoint). Its module's ``report_sets`` gives the *report* sets as :class:`Item` objects (scored
once, at the end, through the same ``Segmenter`` path as ``--roi auto``, on the images as they are).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

IGNORE = 255
"""mmseg's and torch's "no label": padding outside an image, CamVid's unlabelled pixels."""

Sample = Callable[[np.ndarray, np.ndarray, int, np.random.Generator], tuple[torch.Tensor, torch.Tensor]]
"""``sample(image, label, crop, rng) -> (crop x crop x 3 float image in 0..255, crop x crop int64 label)``."""


@dataclass(frozen=True)
class Item:
    """One image of a report set: pixels as the user would pass them, the truth, and its modality (or "")."""

    name: str
    image: np.ndarray
    label: np.ndarray
    modality: str = ""


@dataclass
class Dataset:
    name: str
    """The weight file's (and model's) name."""
    dataset: str
    config: Path
    classes: tuple[str, ...]
    train: list[tuple[np.ndarray, np.ndarray]]
    selection: list[tuple[np.ndarray, np.ndarray]]
    """At the working scale, as the network sees them (uint8 RGB, uint8 labels with IGNORE)."""
    sample: Sample
    class_weights: bool = False
    """Cross-entropy weighted by 1/ln(1.10 + class frequency) (CamVid's rare classes)."""
    init: str | None = None
    """Weights the run starts from by default (a model name or .npz), matched by name and shape."""
    notes: dict[str, str] = field(default_factory=dict)
    """Text for the card: where the data came from, how it was split."""
    selection_originals: list[tuple[np.ndarray, np.ndarray]] | None = None
    """The selection split as stored, where ``selection`` is bent to a square model's input: a refinement that works
    on the image's own pixels (``training.segmenter.choose_refinement``) is chosen on these."""


def scaled_crop(image: np.ndarray, label: np.ndarray, crop: int, rng: np.random.Generator,
                scale: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    """A ``crop`` x ``crop`` sample at a random scale in ``scale`` (padded with IGNORE where it leaves the image),
    as a float CHW image and an int64 label."""
    factor = rng.uniform(*scale)
    side = max(1, round(crop / factor))
    h, w = label.shape
    y = int(rng.integers(0, max(h, side) - side + 1))
    x = int(rng.integers(0, max(w, side) - side + 1))
    # Only the region is copied and converted: whole micrographs of a megapixel would cost more than the step.
    ih, iw = min(side, h - y), min(side, w - x)
    region = np.zeros((side, side, 3), np.float32)
    region[:ih, :iw] = image[y:y + ih, x:x + iw]
    labels = np.full((side, side), IGNORE, np.int64)
    labels[:ih, :iw] = label[y:y + ih, x:x + iw]
    img, lab = torch.from_numpy(region).permute(2, 0, 1), torch.from_numpy(labels)
    img = F.interpolate(img[None], size=(crop, crop), mode="bilinear", align_corners=False)[0]
    lab = F.interpolate(lab[None, None].float(), size=(crop, crop), mode="nearest")[0, 0].long()
    return img, lab


def whole_view(image: np.ndarray, label: np.ndarray, crop: int, rng: np.random.Generator,
               keep: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Most of the image as a ``crop`` x ``crop`` sample: a window of a random share in ``keep`` of each side, resized
    (the aspect bends a little, as salient-object training does): what is salient depends on the whole picture, which
    a small crop loses."""
    h, w = label.shape
    wh, ww = (max(1, round(n * rng.uniform(*keep))) for n in (h, w))
    y, x = int(rng.integers(0, h - wh + 1)), int(rng.integers(0, w - ww + 1))
    img = torch.from_numpy(np.ascontiguousarray(image[y:y + wh, x:x + ww], np.float32)).permute(2, 0, 1)
    lab = torch.from_numpy(np.ascontiguousarray(label[y:y + wh, x:x + ww]).astype(np.int64))
    img = F.interpolate(img[None], size=(crop, crop), mode="bilinear", align_corners=False)[0]
    lab = F.interpolate(lab[None, None].float(), size=(crop, crop), mode="nearest")[0, 0].long()
    return img, lab


def flips(img: torch.Tensor, lab: torch.Tensor, rng: np.random.Generator, rotate: bool) -> tuple[torch.Tensor,
                                                                                                  torch.Tensor]:
    """Horizontal flip half the time; with ``rotate`` also vertical flips and quarter turns (micrographs have no up)."""
    if rng.random() < 0.5:
        img, lab = img.flip(-1), lab.flip(-1)
    if rotate:
        if rng.random() < 0.5:
            img, lab = img.flip(-2), lab.flip(-2)
        if rng.random() < 0.5:
            img, lab = img.transpose(-1, -2), lab.transpose(-1, -2)
    return img, lab


def colour_jitter(img: torch.Tensor, rng: np.random.Generator, amount: float = 0.2) -> torch.Tensor:
    """Brightness, contrast and saturation, each by up to ``amount``."""
    b, c, s = rng.uniform(1 - amount, 1 + amount, 3)
    gray = img.mean(0, keepdim=True)
    img = (img - gray) * s + gray
    return ((img - img.mean()) * c + img.mean() * b).clamp(0, 255)


def intensity_jitter(img: torch.Tensor, rng: np.random.Generator, invert: float) -> torch.Tensor:
    """Gamma in [0.6, 1.6], contrast and brightness by up to 20 %, and (gray images, probability ``invert``)
    inversion: DSB2018 has few brightfield images, and a brightfield nucleus is a fluorescence one inverted."""
    x = img / 255.0
    gray = bool((img[0] == img[1]).all() and (img[1] == img[2]).all())
    if gray and rng.random() < invert:
        x = 1.0 - x
    x = x.clamp(0, 1) ** float(np.exp(rng.uniform(np.log(0.6), np.log(1.6))))
    c, b = rng.uniform(0.8, 1.2, 2)
    x = (x - 0.5) * c + 0.5 + (b - 1.0) * 0.5
    return (x * 255.0).clamp(0, 255)


def resize_pair(image: np.ndarray, label: np.ndarray, short_side: int) -> tuple[np.ndarray, np.ndarray]:
    """Image (bilinear) and label (nearest) at the working scale a Segmenter would use."""
    from PIL import Image

    h, w = label.shape
    scale = short_side / min(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (w, h):
        return image, label
    return (np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR)),
            np.asarray(Image.fromarray(label).resize(size, Image.NEAREST)))

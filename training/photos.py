"""Photographs to train on, and random crops of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from roicodec.models import STRIDE


def load_photos(data: Path, splits: tuple[str, ...] = ("train", "val")) -> list[np.ndarray]:
    """Every ``*.jpg`` of ``splits`` under ``data`` (BSDS500's layout) as uint8 HxWx3, portrait photos turned to
    landscape so that every one yields a landscape crop."""
    images = []
    for split in splits:
        for path in sorted((data / split).glob("*.jpg")):
            with Image.open(path) as im:
                arr = np.asarray(im.convert("RGB"))
            if arr.shape[0] > arr.shape[1]:
                arr = np.ascontiguousarray(arr.transpose(1, 0, 2))
            images.append(arr)
    if not images:
        raise SystemExit(f"no training images under {data}/{{{','.join(splits)}}}: pass --data pointing at bsds500")
    return images


def random_crops(images: list[np.ndarray], height: int, width: int, rng: np.random.Generator,
                 count: int | None = None) -> torch.Tensor:
    """Random ``height`` x ``width`` crops, each flipped left-right at even odds, as an ``(N, 3, H, W)`` float tensor
    in [0, 1]: one of every image in turn, or (with ``count``) of ``count`` images drawn at random."""
    picks = range(len(images)) if count is None else rng.integers(0, len(images), count)
    out = np.empty((len(picks), height, width, 3), np.uint8)
    for k, i in enumerate(picks):
        img = images[i]
        y = rng.integers(0, img.shape[0] - height + 1)
        x = rng.integers(0, img.shape[1] - width + 1)
        crop = img[y:y + height, x:x + width]
        out[k] = crop[:, ::-1] if rng.random() < 0.5 else crop
    return torch.from_numpy(out).permute(0, 3, 1, 2).float().div_(255.0)


def test_photos(data: Path, count: int) -> list[torch.Tensor]:
    """The first ``count`` BSDS500 test photos, cut to the model's stride, each a ``(1, 3, H, W)`` tensor in [0, 1]."""
    out = []
    for path in sorted((data / "test").glob("*.jpg"))[:count]:
        with Image.open(path) as im:
            arr = np.asarray(im.convert("RGB"))
        h, w = arr.shape[:2]
        arr = arr[:h - h % STRIDE, :w - w % STRIDE]
        out.append(torch.from_numpy(np.array(arr)).permute(2, 0, 1)[None].float().div_(255.0))
    return out

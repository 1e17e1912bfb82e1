"""A miniature of the shared data folder (a few small crops of the real images, in the same layout), so that the
segmenter trainer and evaluator run end to end in seconds. A plain module, not a conftest (see tests/shared_data.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from shared_data import DATA


def _copy(src: Path, dst: Path, box: tuple[int, int, int, int] | None, resize: tuple[int, int] | None,
          nearest: bool) -> None:
    im = Image.open(src)
    if box is not None:
        im = im.crop(box)
    if resize is not None:
        im = im.resize(resize, Image.NEAREST if nearest else Image.BILINEAR)
    dst.parent.mkdir(parents=True, exist_ok=True)
    im.save(dst)


def make(root: Path) -> Path:
    """``root`` filled like ../shared/data: camvid (2 + 2 frames), ecssd (10), dsb2018_train (10), dsb2018 (2),
    bbbc039 (3, 16-bit: one each to train, select and report)."""
    for split in ("train", "val"):
        for path in sorted((DATA / "camvid" / split).glob("*.jpg"))[:2]:
            _copy(path, root / "camvid" / split / path.name, None, (64, 48), False)
            label = DATA / "camvid" / f"{split}annot" / f"{path.stem}.png"
            _copy(label, root / "camvid" / f"{split}annot" / label.name, None, (64, 48), True)
    for path in sorted((DATA / "ecssd" / "images").glob("*.jpg"))[:10]:
        _copy(path, root / "ecssd" / "images" / path.name, None, (80, 60), False)
        mask = DATA / "ecssd" / "masks" / f"{path.stem}.png"
        _copy(mask, root / "ecssd" / "masks" / mask.name, None, (80, 60), True)
    for folder, count in (("dsb2018_train", 10), ("dsb2018", 2), ("bbbc039", 3)):
        for path in sorted((DATA / folder / "images").glob("*.png"))[:count]:
            box = (0, 0, 64, 64)
            _copy(path, root / folder / "images" / path.name, box, None, False)
            _copy(DATA / folder / "labels" / path.name, root / folder / "labels" / path.name, box, None, True)
    assert np.asarray(Image.open(next((root / "bbbc039" / "images").glob("*.png")))).dtype == np.uint16
    return root

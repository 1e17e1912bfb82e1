from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

DATA = Path(os.environ.get("ROICODEC_DATA", Path(__file__).parents[2] / ".." / "shared" / "data")).resolve()
CAMVID = DATA / "camvid"


@pytest.fixture(scope="session")
def camvid_frame() -> tuple[np.ndarray, np.ndarray]:
    """The first CamVid val frame (480x360) and its label map."""
    path = sorted((CAMVID / "val").glob("*.jpg"))[0]
    return np.asarray(Image.open(path).convert("RGB")), np.asarray(Image.open(CAMVID / "valannot" / f"{path.stem}.png"))


@pytest.fixture()
def fake_camvid(tmp_path: Path) -> Path:
    """Two train and two val frames of 64x48 cut from CamVid, enough to run training end to end in seconds."""
    root = tmp_path / "camvid"
    for split in ("train", "val"):
        (root / split).mkdir(parents=True)
        (root / f"{split}annot").mkdir()
        for path in sorted((CAMVID / split).glob("*.jpg"))[:2]:
            Image.open(path).resize((64, 48), Image.BILINEAR).save(root / split / path.name)
            label = Image.open(CAMVID / f"{split}annot" / f"{path.stem}.png").resize((64, 48), Image.NEAREST)
            label.save(root / f"{split}annot" / f"{path.stem}.png")
    return root

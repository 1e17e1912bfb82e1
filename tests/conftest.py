from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from shared_data import DATA

import roicodec


def sample_path(name: str) -> Path:
    return Path(str(resources.files("roicodec") / "samples" / name))


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    return np.asarray(Image.open(sample_path("astronaut.png")))


@pytest.fixture(scope="session")
def small(astronaut: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A crop whose sides are not multiples of 16, with an elliptic ROI."""
    image = np.ascontiguousarray(astronaut[30:130, 150:270])
    yy, xx = np.mgrid[:100, :120]
    mask = ((xx - 60) / 40.0) ** 2 + ((yy - 50) / 35.0) ** 2 <= 1
    return image, mask


@pytest.fixture(scope="session")
def small_file(small: tuple[np.ndarray, np.ndarray]) -> bytes:
    return roicodec.encode(*small)


@pytest.fixture(scope="session")
def small_levels(small_file: bytes) -> list[np.ndarray]:
    return roicodec.open(small_file).decode_all()


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

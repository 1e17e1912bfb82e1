"""What both halves of the plugin's tests share: a stack file, and a record of every decode (opening decodes nothing)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import roicodec


class Decodes(list):
    """``(level, plane)`` of each :meth:`RoiFile.decode` call (``("all", level, plane)`` for ``decode_all``), in
    order, and which thread decoded on which ``RoiFile``."""

    def __init__(self) -> None:
        super().__init__()
        self.files: list[tuple[roicodec.RoiFile, int]] = []
        """Each call's ``RoiFile`` (kept alive, so that no two share an ``id``) and thread."""
        self._lock = threading.Lock()  # the two lists stay in step whichever threads decode at once

    def record(self, call: tuple[Any, ...], f: roicodec.RoiFile) -> None:
        with self._lock:
            self.append(call)
            self.files.append((f, threading.get_ident()))

    def clear(self) -> None:
        with self._lock:
            super().clear()
            self.files.clear()


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> Decodes:
    """Every decode from now on, from whichever thread."""
    calls = Decodes()
    decode, decode_all = roicodec.RoiFile.decode, roicodec.RoiFile.decode_all

    def spy_decode(self: roicodec.RoiFile, level: int | None = None, plane: Any = None, **kwargs: Any) -> np.ndarray:
        calls.record((level, plane), self)
        return decode(self, level, plane, **kwargs)

    def spy_decode_all(self: roicodec.RoiFile, level: int | None = None, plane: Any = None) -> list[np.ndarray]:
        calls.record(("all", level, plane), self)
        return decode_all(self, level, plane)

    monkeypatch.setattr(roicodec.RoiFile, "decode", spy_decode)
    monkeypatch.setattr(roicodec.RoiFile, "decode_all", spy_decode_all)
    return calls


@pytest.fixture
def z_stack(tmp_path: Path, astronaut: np.ndarray) -> Path:
    """Six gray 48x64 planes with an ROI per plane, as a file."""
    gray = astronaut[..., 1]
    stack = np.stack([gray[i * 40:i * 40 + 48, i * 30:i * 30 + 64] for i in range(6)])
    masks = np.zeros(stack.shape, bool)
    for i in range(6):
        masks[i, 5 + i:30 + i, 10:40] = True
    path = tmp_path / "z.roi"
    roicodec.encode(stack, masks, path)
    return path


@pytest.fixture
def czyx(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """A (C=3, Z=5) uint16 stack with channel names, physical sizes and units, and one ROI per Z plane, as a file."""
    rng = np.random.default_rng(5)
    image = (rng.poisson(150, (3, 5, 40, 48)) + 400 * np.arange(3)[:, None, None, None]).astype(np.uint16)
    mask = np.zeros((5, 40, 48), bool)
    mask[:, 10:25, 12:30] = True
    image[:, :, 12:22, 14:28] += 3000
    path = tmp_path / "czyx.roi"
    roicodec.encode(image, mask, path, axes="CZYX", metadata={
        "name": "cells", "channels": ["DAPI", "GFP", "RFP"], "scale": [1.0, 2.0, 0.5, 0.5],
        "units": ["pixel", "micrometer", "micrometer", "micrometer"]})
    return path, image, mask

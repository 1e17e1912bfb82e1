"""Figures for the widgets' tables and plot: each level's rate and distortion, and JPEG's at the same rates.

Rates count every byte of the file up to a level (docs/measures.md, "Rate"). JPEG is Pillow's, with
``optimize=True``, at the highest quality whose file fits in the level's bytes (quality 1 when none does, at whatever
rate that takes).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from roicodec.metrics import bpp, psnr


@dataclass(frozen=True)
class Point:
    codec: str
    """``roicodec`` or ``JPEG``."""
    setting: str
    """The level (``L0`` is the base) or the JPEG quality (``q42``)."""
    bytes: int
    bpp: float
    psnr: float | None = None
    roi_psnr: float | None = None
    """``None`` when there is no original to compare with."""


COLUMNS = ("codec", "level / quality", "bytes", "bpp", "PSNR dB", "ROI-PSNR dB")


def _label(info: Mapping[str, Any]) -> str:
    """``base``, ``q75`` for a JPEG layer (the paper's ladder, as it names them), else the layer as a ladder writes it."""
    layer = info.get("layer") or (f"jpeg:{info['quality']}" if info.get("quality") else "base")
    return f"q{layer[5:]}" if layer.startswith("jpeg:") else layer


def level_points(levels_info: Sequence[Mapping[str, Any]], levels: Sequence[np.ndarray] | None = None,
                 original: np.ndarray | None = None, mask: np.ndarray | None = None) -> list[Point]:
    """One point per level; PSNR and ROI-PSNR only when the decoded ``levels`` and ``original`` are given (rates alone
    need no pixel, so a lazy layer's levels stay undecoded)."""
    points = []
    for k, info in enumerate(levels_info):
        quality = f" ({_label(info)})"
        scores = _scores(original, None if levels is None else levels[k], mask)
        points.append(Point("roicodec", f"L{info['level']}{quality}", info["bytes"], info["bpp"], *scores))
    return points


def jpeg_points(original: np.ndarray, mask: np.ndarray | None, budgets: Sequence[int]) -> list[Point]:
    """For each byte budget, JPEG of ``original`` at the highest quality that fits it."""
    height, width = original.shape[:2]
    sizes: dict[int, bytes] = {}

    def coded(quality: int) -> bytes:
        if quality not in sizes:
            buf = io.BytesIO()
            Image.fromarray(original).save(buf, "JPEG", quality=quality, optimize=True)
            sizes[quality] = buf.getvalue()
        return sizes[quality]

    points = []
    for budget in budgets:
        low, high = 1, 100  # JPEG's size grows with quality, so bisect for the last quality that fits
        while low < high:
            mid = (low + high + 1) // 2
            low, high = (mid, high) if len(coded(mid)) <= budget else (low, mid - 1)
        data = coded(low)
        decoded = np.asarray(Image.open(io.BytesIO(data)))
        points.append(Point("JPEG", f"q{low}", len(data), bpp(len(data), width, height),
                            *_scores(original, decoded, mask)))
    return points


def rows(points: Sequence[Point]) -> list[list[str]]:
    """Table rows under :data:`COLUMNS`."""
    return [[p.codec, p.setting, str(p.bytes), f"{p.bpp:.3f}", _db(p.psnr), _db(p.roi_psnr)] for p in points]


def _scores(original: np.ndarray | None, pixels: np.ndarray | None, mask: np.ndarray | None
            ) -> tuple[float | None, ...]:
    if original is None or pixels is None:
        return None, None
    return psnr(original, pixels), psnr(original, pixels, mask) if mask is not None else psnr(original, pixels)


def _db(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"

"""Run an mmseg model on an image: class map, class names and per-pixel confidence, in bounded memory.

The image is first resized to the model's working scale (its ``short_side``, or for a whole-image model its fixed
``square``). A working image larger than the model's window is cut into tiles: each tile runs with a margin of
context around it and only its centre is kept (overlap-tile), so memory depends on the window, not on the image, and
no pixel's logits are averaged or stored beyond its own tile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from roicodec.errors import RoiError, UnsupportedImageError
from roicodec.segment.extra import require_segment_extra
from roicodec.segment.grabcut import REFINEMENT, cut
from roicodec.segment.normalise import microscopy_rgb
from roicodec.segment.sources import resolve

if TYPE_CHECKING:
    import torch

Progress = Callable[[int, int], None]
"""Called as ``progress(done, total)`` with tiles done so far, first with ``done == 0``."""


@dataclass(frozen=True)
class Segmentation:
    """Per-pixel class indices into ``classes`` and the softmax probability of the chosen class."""

    labels: np.ndarray
    confidence: np.ndarray
    classes: tuple[str, ...]
    model: str = ""
    """The segmenter's name."""
    reason: str = ""
    """Why this model segmented the image (``--roi auto``'s rule, or that it was named)."""


def _tiles(size: int, window: int, margin: int) -> Iterator[tuple[int, int, int, int]]:
    """``(core_start, core_stop, input_start, input_stop)`` along one axis."""
    if size <= window:
        yield 0, size, 0, size
        return
    step = window - 2 * margin
    for start in range(0, size, step):
        stop = min(start + step, size)
        lo = max(0, min(start - margin, size - window))
        yield start, stop, lo, min(lo + window, size)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """``image`` as uint8 HxWx3: gray (HxW or HxWx1) is repeated, anything else is refused."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise UnsupportedImageError(f"segmentation needs 8-bit pixels, got {image.dtype}: convert to uint8 first")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] != 3:
        raise UnsupportedImageError(f"segmentation needs an HxW or HxWx3 image, got shape {image.shape}")
    return image


class Segmenter:
    """A built model with what inference needs: classes, normalisation, working scale and window."""

    def __init__(self, model: torch.nn.Module, classes: tuple[str, ...], roi_classes: tuple[str, ...],
                 mean: tuple[float, ...], std: tuple[float, ...], short_side: int | None, window: int,
                 name: str, device: str = "cpu", input: str = "rgb", threshold: float | None = None,
                 square: int | None = None, mirror: bool = False, refine: dict[str, Any] | None = None) -> None:
        self.model = model.to(device).eval()
        self.classes = classes
        self.roi_classes = roi_classes
        self.mean, self.std = mean, std
        self.short_side = short_side
        self.square = square
        self.window = window
        self.margin = window // 8
        self.name = name
        self.device = device
        self.input = input
        """``"rgb"``: 8-bit images as they are; ``"microscopy"``: any depth through ``normalise.microscopy_rgb``."""
        self.threshold = threshold
        """For a two-class model, the probability of class 1 from which a pixel is labelled 1 (``None``: the likelier
        class, as 0.5). Trained with a Dice term, a binary model leans to class 1; the trainer picks this on the
        selection split (``training/segmenter.py``) and stores it with the weights."""
        self.mirror = mirror
        """Average the logits of each window with those of its mirror image (left to right): set where the trainer
        found it better on the selection split, and stored with the weights as the threshold is."""
        self.refine = refine
        """For a two-class model, the settings of :func:`roicodec.segment.grabcut.cut` (``None``: the
        threshold's decision as it is): chosen and stored as the threshold is. The confidence stays the model's
        probability of the label given, under 0.5 where the cut overruled the model."""

    def working_size(self, height: int, width: int) -> tuple[int, int]:
        if self.square is not None:
            return self.square, self.square
        if self.short_side is None:
            return height, width
        scale = self.short_side / min(height, width)
        return max(1, round(height * scale)), max(1, round(width * scale))

    def _logits(self, tile: np.ndarray) -> torch.Tensor:
        import torch
        import torch.nn.functional as F

        x = torch.from_numpy(np.array(tile, np.float32)).to(self.device).permute(2, 0, 1)[None]
        mean = torch.tensor(self.mean, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=self.device).view(1, 3, 1, 1)
        x = (x - mean) / std
        logits = self.model.decode_head(self.model.extract_feat(x))
        if self.mirror:
            mirrored = self.model.decode_head(self.model.extract_feat(x.flip(-1))).flip(-1)
            logits = (logits + mirrored) / 2
        return F.interpolate(logits, size=tile.shape[:2], mode="bilinear", align_corners=False)[0]

    def __call__(self, image: np.ndarray, progress: Progress | None = None) -> Segmentation:
        """Segment an HxWx3 (or HxW) image, uint8 (any depth for a microscopy model); the result has its size."""
        import torch

        rgb = microscopy_rgb(image) if self.input == "microscopy" else as_rgb(image)
        height, width = rgb.shape[:2]
        h, w = self.working_size(height, width)
        work = rgb if (h, w) == (height, width) else np.asarray(Image.fromarray(rgb).resize((w, h), Image.BILINEAR))
        binary = len(self.classes) == 2
        # A binary model keeps its foreground probability, which is resized to the image (bilinear) before the
        # decision: the mask's edges then follow the probability's, not the working grid's staircase.
        labels = None if binary else np.empty((h, w), np.uint8 if len(self.classes) <= 256 else np.int32)
        confidence = np.empty((h, w), np.float32)
        plan = [(ys, xs) for ys in _tiles(h, self.window, self.margin) for xs in _tiles(w, self.window, self.margin)]
        if progress:
            progress(0, len(plan))
        with torch.inference_mode():
            for done, ((y0, y1, iy0, iy1), (x0, x1, ix0, ix1)) in enumerate(plan, 1):
                probs = self._logits(work[iy0:iy1, ix0:ix1]).softmax(0)[:, y0 - iy0:y1 - iy0, x0 - ix0:x1 - ix0]
                if binary:
                    confidence[y0:y1, x0:x1] = probs[1].cpu().numpy()
                else:
                    best, index = probs.max(0)
                    labels[y0:y1, x0:x1] = index.cpu().numpy()
                    confidence[y0:y1, x0:x1] = best.cpu().numpy()
                if progress:
                    progress(done, len(plan))
        if (h, w) != (height, width):
            confidence = np.asarray(Image.fromarray(confidence).resize((width, height), Image.BILINEAR))
            if labels is not None:
                labels = np.asarray(Image.fromarray(labels).resize((width, height), Image.NEAREST))
        if labels is None:
            # Without a chosen threshold, the likelier class (a tie goes to the background, as argmax gives it).
            foreground = confidence > 0.5 if self.threshold is None else confidence >= self.threshold
            if self.refine is not None:
                foreground = cut(rgb, confidence, 0.5 if self.threshold is None else self.threshold, self.refine)
            # PIL's arrays are read-only: one copy, then in place, so that a huge image's map is not copied twice.
            if not confidence.flags.writeable:
                confidence = confidence.copy()
            np.subtract(1, confidence, out=confidence, where=~foreground)
            labels = foreground.view(np.uint8)
        return Segmentation(labels, confidence, self.classes, self.name)


def _class_names(meta: dict[str, Any], cfg: Any, num_classes: int) -> tuple[str, ...]:
    """Class names from the checkpoint, else the config, else its dataset's metainfo, else numbers."""
    names = (meta.get("classes") or meta.get("dataset_meta", {}).get("classes") or meta.get("CLASSES")
             or cfg.get("class_names"))
    if not names and cfg.get("dataset_type"):
        from mmseg.registry import DATASETS

        dataset = DATASETS.get(cfg.dataset_type)
        names = getattr(dataset, "METAINFO", {}).get("classes") if dataset else None
    if not names or len(names) != num_classes:
        names = [f"class {i}" for i in range(num_classes)]
    return tuple(str(n).strip() for n in names)


@lru_cache(maxsize=4)
def load_segmenter(model: str | None = None, checkpoint: str | None = None, device: str = "cpu") -> Segmenter:
    """The segmenter for ``model`` (see :func:`roicodec.segment.sources.resolve`), built once per arguments."""
    require_segment_extra()
    from roicodec.segment.build import build_model, load_config
    from roicodec.segment.checkpoints import read_checkpoint

    source = resolve(model, checkpoint)
    # The checkpoint first: a failed download should not wait for a large model to be built.
    meta, state = read_checkpoint(source.checkpoint)
    cfg = load_config(source.config)
    net = build_model(cfg)
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise RoiError(f"checkpoint {Path(source.checkpoint).name} does not fit {source.config.name}: "
                       f"{len(missing)} missing keys (e.g. {missing[:2]}), {len(unexpected)} unexpected "
                       f"(e.g. {unexpected[:2]})")
    preprocess = cfg.model.get("data_preprocessor") or cfg.get("data_preprocessor") or {}
    mean = tuple(preprocess.get("mean", (123.675, 116.28, 103.53)))
    std = tuple(preprocess.get("std", (58.395, 57.12, 57.375)))
    classes = _class_names(meta, cfg, net.decode_head.num_classes)
    roi_classes = source.roi_classes or tuple(cfg.get("roi_classes", ()))
    threshold = meta.get("threshold")
    refine = meta.get("refine")
    if refine is not None and refine.get("method") != REFINEMENT:
        raise RoiError(f"checkpoint {Path(source.checkpoint).name} asks for the refinement {refine.get('method')!r}, "
                       f"which this roicodec does not have: upgrade roicodec")
    return Segmenter(net, classes, roi_classes, mean, std, source.short_side, source.window, source.name, device,
                     source.input, None if threshold is None else float(threshold), source.square,
                     bool(meta.get("mirror", False)), refine)

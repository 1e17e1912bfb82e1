"""The options every face of roicodec shares (command line, napari widgets, batch jobs, Pillow's ``save``): how they
are written, checked and listed, once."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from roicodec import container
from roicodec.errors import RoiError


def parse_list(text: str) -> tuple[str, ...]:
    """``"a, b,,c"`` -> ``("a", "b", "c")``: how comma-separated options are typed."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def parse_qualities(text: str) -> tuple[int, ...]:
    """``"75,90,100"`` -> ``(75, 90, 100)``; whether they make a ladder is :func:`check_qualities`' to say, which
    encoding calls."""
    try:
        return tuple(int(q) for q in parse_list(text))
    except ValueError:
        raise RoiError(f"qualities {text!r} are not comma-separated integers, e.g. 75,90,100") from None


def check_qualities(qualities: Sequence[int]) -> tuple[int, ...]:
    """The enhancement layers' qualities, lowest first: each in 1..100, increasing, at most the format's count."""
    qualities = tuple(int(q) for q in qualities)
    if len(qualities) > container.MAX_LAYERS or not all(1 <= q <= 100 for q in qualities):
        raise RoiError(f"qualities {qualities} are invalid: give at most {container.MAX_LAYERS} values in 1..100")
    if any(b <= a for a, b in itertools.pairwise(qualities)):
        raise RoiError(f"qualities {','.join(map(str, qualities))} do not increase: each layer must be of a higher "
                       "quality than the one below it (e.g. 75,90,100), or it adds bytes and nothing else")
    return qualities


@dataclass(frozen=True)
class RoiModel:
    """Which segmenter makes an automatic ROI: :func:`roicodec.segment.segment_roi`'s arguments after the image."""

    model: str | None = None
    """A name from :func:`roi_model_names` or a local mmseg config (``None``: the embedded model)."""
    classes: tuple[str, ...] | None = None
    """Class names that make the ROI (``None``: the model's own choice)."""
    checkpoint: str | None = None
    """Weights replacing the model's own: a path or URL."""


def roi_model_names() -> list[str]:
    """The segmenters known by name (nothing heavy is imported to list them)."""
    from roicodec.segment.sources import model_names

    return model_names()


def base_model_names() -> list[str]:
    """The base-layer models installed with the package."""
    from roicodec.models import registry

    return list(registry.available())

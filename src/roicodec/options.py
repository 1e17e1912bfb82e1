"""The options every face of roicodec shares (command line, napari widgets, batch jobs, Pillow's ``save``): how they
are written, checked and listed, once."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from roicodec import container
from roicodec.container import Layer
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


PAPER_QUALITIES = (75, 90, 100)
"""The paper's ladder: JPEG enhancement layers at these qualities."""

LADDERS: dict[str, tuple[str, ...]] = {
    "default": ("avif:50", "avif:68", "exact"),
    "paper": tuple(f"jpeg:{q}" for q in PAPER_QUALITIES),
}
"""Named ladders. ``default``: two AVIF layers of the residual, where the paper's q75 and q90 land in ROI-PSNR, then
the ROI exactly (docs/layers.md, ``python benchmarks/layers.py``); ``paper``: the paper's."""
DEFAULT_LADDER = "default"


def parse_layer(text: str) -> Layer:
    """``"avif:40"``, ``"jpeg:75"``, ``"near:2"``, ``"exact"``, or a bare quality (``"75"``: a JPEG layer)."""
    name, _, value = text.strip().partition(":")
    if name.isdigit() and not value:
        name, value = "jpeg", name
    if name not in container.LAYER_KINDS:
        raise RoiError(f"layer {text.strip()!r} is unknown: give avif:Q or jpeg:Q (Q 1-100), near:K (K 1-255) or "
                       "exact")
    if (name == "exact") == bool(value):
        example = "exact" if name == "exact" else f"{name}:{2 if name == 'near' else 40}"
        raise RoiError(f"layer {text.strip()!r} is malformed: write it as {example}")
    try:
        return container.Layer(name, int(value) if value else 0)
    except ValueError as exc:  # not an integer, or out of range
        raise RoiError(f"layer {text.strip()!r}: {exc}".replace("invalid literal for int() with base 10", "not a number")
                       ) from None


def parse_ladder(text: str | Sequence[str | Layer]) -> tuple[Layer, ...]:
    """A ladder by name (:data:`LADDERS`), or its layers, comma-separated or as a sequence, checked by
    :func:`check_ladder`."""
    if isinstance(text, str):
        if text.strip() in LADDERS:
            return parse_ladder(LADDERS[text.strip()])
        parts: Sequence[str | Layer] = parse_list(text)
    else:
        parts = text
    return check_ladder([p if isinstance(p, Layer) else parse_layer(str(p)) for p in parts])


def check_ladder(layers: Sequence[Layer]) -> tuple[Layer, ...]:
    """Refuse ladders that cannot work or waste bytes: too many layers, a lossy layer at or below the quality of one
    of its kind below it, anything after an exact layer, a lossy layer after a verified one."""
    layers = tuple(layers)
    if len(layers) > container.MAX_LAYERS:
        raise RoiError(f"a ladder of {len(layers)} layers is too long: give at most {container.MAX_LAYERS}")
    text = ",".join(map(str, layers))
    for below, above in itertools.pairwise(layers):
        if below.kind == "exact":
            raise RoiError(f"ladder {text}: nothing can follow an exact layer, which already gives the ROI as it is")
        if below.verified and not above.verified:
            raise RoiError(f"ladder {text}: a lossy layer cannot follow a near-lossless one; put lossy layers first")
        if below.kind == above.kind and below.kind != "near" and above.param <= below.param:
            raise RoiError(f"ladder {text}: qualities do not increase ({below} then {above}): each layer must be of "
                           "a higher quality than the one below it, or it adds bytes and nothing else")
        if below.kind == above.kind == "near" and above.param >= below.param:
            raise RoiError(f"ladder {text}: near-lossless layers must tighten ({below} then {above})")
    return layers


def resolve_ladder(ladder: str | Sequence[str | Layer] | None, qualities: Sequence[int] | None,
                   max_error: int | None) -> tuple[Layer, ...]:
    """The layers :func:`roicodec.encode` writes from its ``ladder``, ``qualities`` and ``max_error`` arguments."""
    if ladder is not None and qualities is not None:
        raise RoiError("give either ladder or qualities (a JPEG ladder), not both")
    if qualities is not None:
        layers = tuple(container.Layer("jpeg", q) for q in check_qualities(qualities))
    else:
        layers = parse_ladder(DEFAULT_LADDER if ladder is None else ladder)
    if max_error is None or max_error == 0 and layers and layers[-1].kind == "exact":
        return layers
    if not layers or not layers[-1].verified:
        raise RoiError(f"max_error needs a ladder whose top level is checked (ending in exact or near:K), not "
                       f"{','.join(map(str, layers)) or 'a base-only file'}")
    if not 0 <= int(max_error) <= 255:
        raise RoiError(f"max_error {max_error} is invalid: give 0 (exact) to 255")
    top = container.Layer("exact") if not max_error else container.Layer("near", int(max_error))
    return check_ladder((*layers[:-1], top))


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

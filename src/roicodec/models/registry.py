"""The base-layer models that ship in the package, found by name and checked by hash."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from roicodec import weights
from roicodec.errors import ModelMismatchError
from roicodec.models import store
from roicodec.models.store import digest

WEIGHTS = Path(__file__).parent / "weights"
DEFAULT = "hps-q1"
"""The model for new files: the smallest base of the best family measured, ``hps`` (docs/synthesis.md): ``hp-q1``'s
bytes with a synthesis tuned on the latents files hold, 0.26 dB better on Kodak at the same rate. Files of every other
shipped model (``hp-q*``, the default before it; ``rd-q*``; ``paper-ae``, the paper's) keep decoding."""
CHOICES_HELP = ("hps-q1 ... hps-q5: the hyperprior family with its tuned synthesis, q1 the smallest base; hp-q1 ... "
                "hp-q5: the same bytes, decoded by the rd synthesis; rd-q1 ... rd-q5: the same transforms with a "
                "factorised entropy model (larger files, a tenth faster to decode); paper-ae: the paper's "
                "autoencoder, for reproduction")
"""How to choose a base model, in one line for help texts."""


@dataclass(frozen=True)
class ModelInfo:
    """A model's identity as the ``.roi`` header records it."""

    name: str
    hash: bytes
    path: Path


def _paths() -> dict[str, Path]:
    return {p.stem: p for p in sorted(WEIGHTS.glob("*.npz")) if "." not in p.stem}


def available() -> dict[str, ModelInfo]:
    """Every shipped model, by name."""
    return {name: ModelInfo(name, digest(p), p) for name, p in _paths().items()}


def info(name: str | None = None) -> ModelInfo:
    """The identity of model ``name`` (the default model when ``None``)."""
    name = name or DEFAULT
    paths = _paths()
    if name not in paths:
        raise ModelMismatchError(f"no base-layer model named {name!r}; installed: {', '.join(paths) or 'none'}")
    # Only this model's file is hashed: reading one file should not read every model's weights (17 MB).
    return ModelInfo(name, digest(paths[name]), paths[name])


def _preview_of(path: Path, meta: dict[str, Any]) -> tuple[Path, Path]:
    """A model's preview head and the base file it must have been distilled from: its own, or for a model that
    borrows its transforms (:func:`roicodec.models.store.borrowed`) the lender's, whose latents it shares (a head maps
    the latent to a quarter-size picture: a model that borrows ``g_a`` alone, such as ``hps``, has the lender's
    latents and a synthesis tuned from the lender's, whose picture the head approximates as it does the lender's); not
    where the file folds its own gains in, since its latents are then its own."""
    own = path.with_suffix(".preview.npz")
    lender = store.borrowed(path, meta)
    if own.exists() or lender is None or "gains" in meta or "param/g_a." not in store.borrowed_prefixes(meta):
        return own, path
    return lender.with_suffix(".preview.npz"), lender


def has_preview(name: str) -> bool:
    """Whether model ``name`` has a preview head (file checks: no torch)."""
    paths = _paths()
    return name in paths and _preview_of(paths[name], weights.read_meta(paths[name]))[0].exists()


_lock = threading.Lock()


@cache
def _load(path: Path) -> Any:
    from roicodec.models.base_model import BaseModel

    meta, arrays = store.read(path)
    model = BaseModel(meta, arrays)
    preview, base = _preview_of(path, meta)
    if preview.exists():
        preview_meta, preview_arrays = weights.open_arrays(preview)
        # A head distilled from other weights would preview another decoder: use it only with its own base.
        if preview_meta["base_hash"] == digest(base).hex():
            model.attach_preview(preview_arrays)
    return model


def load(name: str, expected_hash: bytes | None = None) -> Any:
    """Load model ``name`` (its graphs are made when first run); refuse it if its hash differs from ``expected_hash``."""
    model = info(name)
    if expected_hash is not None and model.hash != expected_hash:
        raise ModelMismatchError(
            f"file was coded with base model {name!r} hash {expected_hash.hex()}, but the installed {name!r} has hash "
            f"{model.hash.hex()}: install the roicodec version that wrote the file")
    with _lock:
        return _load(model.path)

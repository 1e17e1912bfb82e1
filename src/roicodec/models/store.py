"""Base-layer weight files: parameters, integer coding tables and a JSON recipe (see :mod:`roicodec.weights`).

The file's SHA-256 is the model's identity: the ``.roi`` header records it, and decoding with any other file is
refused. A file may borrow its transforms (``g_a``, ``g_s``) from another shipped model instead of holding a copy:
its meta then names that model and its hash (``"transforms": {"model": "rd-q1", "hash": "..."}``), so the one hash
in a ``.roi`` header still pins every weight that decodes it. The hyperprior family does this: trained on the ``rd``
transforms, each ``hp-q`` model adds an entropy model to its ``rd-q`` twin. A file may borrow some transforms only
(``"parts": ["g_a"]``) and hold the others: the ``hps`` family keeps ``hp``'s analysis, hence its latents and bytes,
with a synthesis of its own (``training.base_synthesis``).

A family whose rates share one set of transforms (the gained variable-rate scheme of ``training.base_rd``) ships them
once: every file of the family holds its rate's gain vectors (``gain/analysis``, ``gain/synthesis``, float32), its meta
names the two layers they scale (``"gains": {"analysis": "g_a.6", "synthesis": "g_s.0"}``), and :func:`read` folds
them in: the analysis layer's output channels times the analysis gain, the synthesis layer's input channels times the
synthesis gain, in float32. Encoder and decoder both read through here, so both run the same folded weights. A
family trained with its transforms (``training.base_hyper`` with ``--freeze`` below ``--iters``) is written this way:
its first rate's file holds the transforms, the other rates borrow them. No shipped family is one yet (the ``hp2``
run was measured and not shipped: docs/colour_cast.md).
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from roicodec import weights
from roicodec.digest import cached_sha256
from roicodec.errors import ModelMismatchError

if TYPE_CHECKING:
    from torch import nn

TRANSFORMS = ("param/g_a.", "param/g_s.")
"""The arrays a file borrows when its meta names ``transforms`` (those of the ``parts`` it lists, if it lists any)."""


def save_model(path: Path, name: str, model: nn.Module, offsets: np.ndarray, freqs: list[np.ndarray],
               recipe: dict[str, Any], config: dict[str, Any] | None = None) -> Path:
    """Write ``model``'s parameters and coding tables to ``path`` (``.npz``) and return the path.

    ``config`` holds the architecture's constructor arguments beyond ``latent_channels``.
    """
    arrays = {f"param/{k}": v.detach().cpu().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    arrays["offsets"] = offsets.astype(np.int32)
    for c, f in enumerate(freqs):
        arrays[f"freq/{c}"] = f.astype(np.uint32)
    meta = {"name": name, "architecture": type(model).__name__, "latent_channels": len(freqs), "recipe": recipe}
    if config:
        meta["config"] = config
    return weights.write(path, arrays, meta)


def digest(path: Path) -> bytes:
    """The first 8 bytes of the file's SHA-256: what the ``.roi`` header stores as the model's hash."""
    return cached_sha256(path)[:8]


def borrowed(path: Path, meta: dict[str, Any], folder: Path | None = None) -> Path | None:
    """The file whose transforms ``meta`` (read from ``path``) borrows, checked by hash; ``None`` if it holds its own.
    ``folder``: where that model lives (default: beside ``path``)."""
    source = meta.get("transforms")
    if source is None:
        return None
    other = (folder or path.parent) / f"{source['model']}.npz"
    if not other.is_file():
        raise ModelMismatchError(f"base model {meta['name']!r} takes its transforms from {source['model']!r}, which "
                                 f"is not in {other.parent}: install the roicodec that shipped both")
    if digest(other).hex() != source["hash"]:
        raise ModelMismatchError(f"base model {meta['name']!r} takes its transforms from {source['model']!r} hash "
                                 f"{source['hash']}, but {other} has hash {digest(other).hex()}: install the roicodec "
                                 "that shipped both")
    return other


def borrowed_prefixes(meta: dict[str, Any]) -> tuple[str, ...]:
    """The array names a file that borrows transforms takes from its lender: those of the ``parts`` its meta lists
    (``g_a``, ``g_s``), or both."""
    parts = meta["transforms"].get("parts")
    if parts is None:
        return TRANSFORMS
    prefixes = tuple(f"param/{p}." for p in parts)
    if not parts or not set(prefixes) <= set(TRANSFORMS):
        raise ModelMismatchError(f"base model {meta['name']!r} borrows {parts!r} from {meta['transforms']['model']!r}: "
                                 "only g_a and g_s can be borrowed; install the roicodec that shipped both")
    return prefixes


def read(path: Path, folder: Path | None = None) -> tuple[dict[str, Any], Mapping[str, np.ndarray]]:
    """A base weight file's ``(meta, arrays)``, with any borrowed transforms filled in (see :func:`borrowed`). Each
    array is read when first used (:class:`roicodec.weights.Arrays`), so that a reader decompresses the decoder's
    weights and tables only, not the encoder's."""
    meta, arrays = weights.open_arrays(path)
    other = borrowed(path, meta, folder)
    if other is not None:
        arrays = ChainMap(arrays, _Only(weights.open_arrays(other)[1], borrowed_prefixes(meta)))
    if "gains" in meta:
        arrays = _Folded(arrays, meta["gains"])
    return meta, arrays


class _Folded(Mapping[str, np.ndarray]):
    """``source`` with a rate's gains folded into the layers ``gains`` names (see the module's docstring)."""

    def __init__(self, source: Mapping[str, np.ndarray], gains: dict[str, str]) -> None:
        self._source = source
        analysis, synthesis = f"param/{gains['analysis']}", f"param/{gains['synthesis']}"
        # Conv2d weights are (out, in, kh, kw), ConvTranspose2d weights (in, out, kh, kw): the gain scales axis 0 of
        # both, and the analysis layer's bias.
        self._scaled = {f"{analysis}.weight": "gain/analysis", f"{analysis}.bias": "gain/analysis",
                        f"{synthesis}.weight": "gain/synthesis"}

    def __getitem__(self, key: str) -> np.ndarray:
        value = self._source[key]
        gain = self._scaled.get(key)
        if gain is None:
            return value
        g = np.asarray(self._source[gain], np.float32)
        return value.astype(np.float32) * g.reshape(-1, *([1] * (value.ndim - 1)))

    def __iter__(self) -> Iterator[str]:
        return iter(self._source)

    def __len__(self) -> int:
        return len(self._source)


class _Only(Mapping[str, np.ndarray]):
    """The arrays of ``source`` whose names start with one of ``prefixes``."""

    def __init__(self, source: Mapping[str, np.ndarray], prefixes: tuple[str, ...]) -> None:
        self._source = source
        self._keys = dict.fromkeys(k for k in source if k.startswith(prefixes))

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._keys:
            raise KeyError(key)
        return self._source[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

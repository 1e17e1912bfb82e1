"""The base models as torch modules: what training optimises, what ``training.export_onnx`` turns into the graphs
the package runs, the reference the graphs are tested against, and the ``g_s`` that
:mod:`roicodec.models.refine` differentiates. Nothing that reads files imports this.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from roicodec.models.factorized import FactorizedAutoencoder
from roicodec.models.hyperprior import HyperpriorAutoencoder
from roicodec.models.paper_ae import PaperAutoencoder
from roicodec.models.preview import PreviewHead

ARCHITECTURES: dict[str, type[nn.Module]] = {
    "PaperAutoencoder": PaperAutoencoder,
    "FactorizedAutoencoder": FactorizedAutoencoder,
    "HyperpriorAutoencoder": HyperpriorAutoencoder,
}
"""Every architecture shares the paper's geometry (four stride-2 5x5 layers, latent at 1/16), hence one tile grid."""


def config(meta: dict[str, Any]) -> dict[str, Any]:
    """A base weight file's constructor arguments."""
    return dict(meta.get("config", {"latent_channels": meta["latent_channels"]}))


def preview_config(arrays: dict[str, np.ndarray]) -> dict[str, int]:
    """A preview head's constructor arguments, from its first layer's shape ``(latent, width, 5, 5)``."""
    latent, width = arrays["param/net.0.weight"].shape[:2]
    return {"latent_channels": int(latent), "width": int(width)}


def _state(arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    # Parameters may be stored as float16 (half the file); the model they define is their float32 value.
    return {k.removeprefix("param/"): torch.from_numpy(v.astype(np.float32)) for k, v in arrays.items()
            if k.startswith("param/")}


def build(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> nn.Module:
    """The torch module of a base weight file, loaded and in eval mode."""
    net = ARCHITECTURES[meta["architecture"]](**config(meta))
    net.load_state_dict(_state(arrays))
    return net.eval()


def part(meta: dict[str, Any], arrays: Mapping[str, np.ndarray], name: str) -> nn.Module:
    """One transform of a base weight file (``"g_a"``, ``"g_s"``), loaded and in eval mode: an encoder that refines
    its latent needs no other part."""
    net = ARCHITECTURES[meta["architecture"]](**config(meta))
    prefix = f"param/{name}."
    module = getattr(net, name)
    module.load_state_dict({k.removeprefix(prefix): torch.from_numpy(np.asarray(arrays[k], np.float32))
                            for k in arrays if k.startswith(prefix)})
    return module.eval().requires_grad_(False)


def build_preview(arrays: dict[str, np.ndarray]) -> PreviewHead:
    """The torch module of a preview head's weight file, loaded and in eval mode."""
    head = PreviewHead(**preview_config(arrays))
    head.load_state_dict(_state(arrays))
    return head.eval()

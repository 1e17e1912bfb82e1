"""Build an MMSegmentation model from a config file through mmseg's registry, ready for CPU inference."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mmengine.config import Config
    from torch import nn


def load_config(path: str | Path) -> Config:
    """Read an mmseg config file (``_base_`` inheritance resolved)."""
    from mmengine.config import Config

    return Config.fromfile(str(path))


def _plain_batchnorm(node: Any) -> Any:
    # SyncBN needs a process group even where it would only ever run one process; plain BN computes the same thing.
    if isinstance(node, dict):
        return {k: ("BN" if k == "type" and v == "SyncBN" else _plain_batchnorm(v)) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(_plain_batchnorm(v) for v in node)
    return node


def build_model(config: Config | str | Path) -> nn.Module:
    """The config's ``model`` as an mmseg ``EncoderDecoder`` in eval mode, with random weights.

    Nothing is downloaded: a backbone's ``init_cfg`` pointing at pretrained weights is dropped, since the caller loads
    a whole checkpoint afterwards.
    """
    import warnings

    from roicodec.segment import mmcv_ops_shim

    mmcv_ops_shim.install()
    cfg = load_config(config) if isinstance(config, (str, Path)) else config
    model_cfg = _plain_batchnorm(cfg.model.to_dict() if hasattr(cfg.model, "to_dict") else dict(cfg.model))
    model_cfg["pretrained"] = None
    model_cfg.get("backbone", {}).pop("init_cfg", None)
    with warnings.catch_warnings():
        # Construction-time advice from mmcv-lite and mmseg (a missing op no Swin model uses, deprecations inside
        # mmseg itself) that a user of roicodec can do nothing about.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"(mmcv|mmseg|mmengine)\b")
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=r"`torch\.jit")
        from mmengine.registry import init_default_scope
        from mmseg.registry import MODELS
        from mmseg.utils import register_all_modules

        register_all_modules(init_default_scope=False)
        init_default_scope("mmseg")
        model = MODELS.build(model_cfg)
    return model.eval()

"""A pure-torch stand-in for ``mmcv.ops``, installed only where mmcv's compiled ops are missing.

mmcv-lite ships without compiled ops, yet mmseg imports ``mmcv.ops`` while importing itself. Swin with UPerHead,
FPNHead or SegformerHead needs none of those ops; mmseg's package import needs ``point_sample`` and the name
``sigmoid_focal_loss`` (which mmseg calls only on CUDA tensors, using its own pure-torch version on CPU). Every
other name raises ModuleNotFoundError, which mmseg already catches for its optional ops, so a model that truly needs
one fails loudly.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any


def point_sample(input: Any, points: Any, align_corners: bool = False, **kwargs: Any) -> Any:
    """mmcv's ``point_sample``: bilinear samples of ``input`` at ``points`` given in [0, 1] coordinates."""
    import torch.nn.functional as F

    add_dim = points.dim() == 3
    if add_dim:
        points = points.unsqueeze(2)
    output = F.grid_sample(input, 2.0 * points - 1.0, align_corners=align_corners, **kwargs)
    return output.squeeze(3) if add_dim else output


def sigmoid_focal_loss(*args: Any, **kwargs: Any) -> Any:
    """Placeholder: mmseg's focal loss calls mmcv's compiled kernel only for CUDA tensors."""
    raise NotImplementedError("mmcv.ops.sigmoid_focal_loss needs mmcv's compiled ops, which mmcv-lite lacks")


class _Ops(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise ModuleNotFoundError(f"mmcv.ops.{name} needs mmcv's compiled ops, which mmcv-lite lacks",
                                  name=f"mmcv.ops.{name}")


def _compiled_ops_present() -> bool:
    try:
        return importlib.util.find_spec("mmcv._ext") is not None
    except (ImportError, ValueError):
        return False


def install() -> bool:
    """Put the stand-in at ``sys.modules['mmcv.ops']`` unless real ops exist; return whether it was installed."""
    current = sys.modules.get("mmcv.ops")
    if isinstance(current, _Ops):
        return True
    if current is not None or _compiled_ops_present():
        return False
    module = _Ops("mmcv.ops", __doc__)
    module.point_sample = point_sample  # type: ignore[attr-defined]
    module.sigmoid_focal_loss = sigmoid_focal_loss  # type: ignore[attr-defined]
    module.__file__ = __file__
    sys.modules["mmcv.ops"] = module
    # ``import mmcv.ops`` then ``mmcv.ops.x`` reads the parent's attribute, which the import system sets only for
    # modules it loaded itself.
    import mmcv

    mmcv.ops = module  # type: ignore[attr-defined]
    return True

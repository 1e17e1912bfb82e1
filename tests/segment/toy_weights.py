"""Weight files for the embedded models made in a test's folder, so that the ``--roi auto`` path runs before (and
regardless of) the trained weights being in the package. A plain module, not a conftest (see tests/shared_data.py)."""

from __future__ import annotations

from pathlib import Path

from roicodec.segment import sources
from roicodec.segment.store import save_weights


def make(folder: Path, name: str, foreground: float | None = None) -> Path:
    """Random weights for the embedded model ``name`` in ``folder``; with ``foreground``, the last layer's bias
    favours class 1 by that much, so that the ROI is predictable (all of the image)."""
    import torch

    from roicodec.segment.build import build_model, load_config

    model = sources.EMBEDDED_MODELS[name]
    torch.manual_seed(0)
    cfg = load_config(Path(str(sources._PACKAGE)) / "configs" / model.config)
    net = build_model(cfg)
    if foreground is not None:
        with torch.no_grad():
            net.decode_head.conv_seg.bias.copy_(torch.tensor([0.0, foreground]))
    path = folder / f"{name}.npz"
    save_weights(path, net.state_dict(), {"name": name, "config": model.config, "classes": list(cfg.class_names)})
    return path


def install(monkeypatch, folder: Path, names: dict[str, float | None]) -> None:
    """Point the package's weight lookup at ``folder``, holding toy weights for ``names`` (others: not installed)."""
    from roicodec.segment import load_segmenter

    folder.mkdir(parents=True, exist_ok=True)
    for name, foreground in names.items():
        make(folder, name, foreground)
    monkeypatch.setattr(sources, "weights_path", lambda name: folder / f"{name}.npz")
    load_segmenter.cache_clear()

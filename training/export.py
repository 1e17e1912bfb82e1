"""Put trained weight files into the package: the one step between a trainer's ``--work`` folder and what ships.

    python -m training.export out/rd-train/rd-q1.npz [more.npz ...] [--to FOLDER]

Each file goes where its kind lives (a base model or a preview head beside the base models, a segmenter beside the
segmenters), replaced atomically. A file is checked before it is copied: a base model must load and code a small
image, a preview head must name an installed base by its hash, a segmenter must name its config. Its model card
(``NAME.md``) is not written here: cards are made from the weights' own recipe (``python -m training.cards``) or by hand.
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

from roicodec import atomic, weights


def kind(meta: dict) -> str:
    """``"base"``, ``"preview"`` or ``"segmenter"``, from what a weight file's meta block holds."""
    if "architecture" in meta:
        return "base"
    if "base_hash" in meta:
        return "preview"
    if "classes" in meta and "config" in meta:
        return "segmenter"
    raise SystemExit(f"not a roicodec weight file (meta keys: {', '.join(sorted(meta))})")


def destination(kind_: str) -> Path:
    package = "roicodec.segment" if kind_ == "segmenter" else "roicodec.models"
    return Path(str(resources.files(package))) / "weights"


def check(path: Path, meta: dict, kind_: str) -> None:
    """Refuse a file the package could not use, before it is copied in."""
    if kind_ == "base":
        import numpy as np

        from roicodec.models.base_model import BaseModel

        model = BaseModel(*weights.read(path))
        latent = model.analyse(np.zeros((32, 32, 3), np.uint8), 64)
        model.coder.decode(model.coder.encode(latent), latent.shape[1:])
    elif kind_ == "preview":
        from roicodec.models import registry

        installed = {info.hash.hex(): name for name, info in registry.available().items()}
        if meta["base_hash"] not in installed:
            raise SystemExit(f"{path} was distilled from base weights {meta['base_hash']}, which are not installed: "
                             "export the base first, or distil the head again from the installed base")
    else:
        config = Path(str(resources.files("roicodec.segment"))) / "configs" / meta["config"]
        if not config.is_file():
            raise SystemExit(f"{path} names config {meta['config']}, which the package does not have")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.export", description=__doc__.split("\n")[0])
    parser.add_argument("files", type=Path, nargs="+", help="weight files written by a trainer")
    parser.add_argument("--to", type=Path, help="folder to put them in (default: where the package keeps their kind)")
    args = parser.parse_args(argv)
    for path in args.files:
        if not path.is_file():
            parser.error(f"{path} does not exist: give the .npz a trainer wrote")
        meta = weights.read_meta(path)
        kind_ = kind(meta)
        check(path, meta, kind_)
        folder = args.to or destination(kind_)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / path.name
        atomic.write_bytes(target, path.read_bytes(), inputs=(path,))
        print(f"exported {path} -> {target} ({kind_})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Put trained weight files into the package: the one step between a trainer's ``--work`` folder and what ships.

    python -m training.export out/rd-train/rd-q1.npz [more.npz ...] [--to FOLDER]

Each file goes where its kind lives (a base model or a preview head beside the base models, a segmenter beside the
segmenters), replaced atomically; a base model's or preview head's graphs (``training.export_onnx``) go with it, into
the package's ``models/graphs`` (or ``FOLDER/graphs``). A file is checked before it is copied: a base model must load
and code a small image through its graphs, a preview head must name an installed base by its hash, a segmenter must
name its config. Its model card
(``NAME.md``) is not written here: cards are made from the weights' own recipe (``python -m training.cards``) or by hand.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
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


def graphs_folder(kind_: str, to: Path | None) -> Path | None:
    """Where a file's graphs go: the package's beside its weights, or ``to/graphs``; ``None`` for a segmenter."""
    if kind_ == "segmenter":
        return None
    from roicodec.models import runtime

    return runtime.GRAPHS if to is None else to / "graphs"


def check(path: Path, meta: dict, kind_: str, scratch: Path, to: Path | None = None) -> None:
    """Refuse a file the package could not use, before it is copied in; ``scratch``: a folder for its graphs."""
    if kind_ == "base":
        import numpy as np

        from roicodec.models import store
        from roicodec.models.base_model import BaseModel
        from training import export_onnx

        export_onnx.export([path], scratch)
        # Borrowed transforms must be the installed lender's, hash for hash, where the file is going.
        model = BaseModel(*store.read(path, destination(kind_) if to is None else to), graphs=scratch)
        latent = model.analyse(np.zeros((32, 32, 3), np.uint8), 64)
        model.uncode(model.code(latent)[0], 32, 32)
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
        graphs = graphs_folder(kind_, args.to)
        with tempfile.TemporaryDirectory() as scratch:
            check(path, meta, kind_, Path(scratch), args.to)  # with graphs made afresh: nothing enters the package unchecked
        folder = args.to or destination(kind_)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / path.name
        atomic.write_bytes(target, path.read_bytes(), inputs=(path,))
        print(f"exported {path} -> {target} ({kind_})")
        if graphs is not None:
            from training import export_onnx

            for graph in export_onnx.export([path], graphs):
                print(f"graph {graph}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

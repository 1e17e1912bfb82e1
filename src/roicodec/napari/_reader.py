"""npe2 reader for roicodec's ``.roi`` files, a thin layer over :mod:`roicodec` in the style of napari-ome-zarr:
it reads a file's header, description and ROI, and hands napari its levels as a dask array decoded as it is shown.

ImageJ's ROI files share the extension; a reader that claimed them would hide them from the readers that understand
them, so a file is ours only if it starts with roicodec's signature, and that is all ``get_reader`` reads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from roicodec.container import SIGNATURE
from roicodec.napari._layers import LayerData, roi_layers

PathOrPaths = str | os.PathLike | Sequence[str | os.PathLike]


def get_reader(path: PathOrPaths) -> Callable[[PathOrPaths], list[LayerData]] | None:
    """``read_roi`` if every path is a roicodec file, else ``None`` so that napari asks the next reader."""
    paths = _paths(path)
    if paths and all(_has_signature(p) for p in paths):
        return read_roi
    return None


def read_roi(path: PathOrPaths) -> list[LayerData]:
    """For each file: its levels as one lazy image layer (level axis first) and its ROI as a labels layer."""
    layers: list[LayerData] = []
    for p in _paths(path):
        layers += roi_layers(p, p.stem)
    return layers


def _paths(path: PathOrPaths) -> list[Path]:
    return [Path(path)] if isinstance(path, (str, os.PathLike)) else [Path(p) for p in path]


def _has_signature(path: Path) -> bool:
    try:
        with path.open("rb") as fp:
            return fp.read(len(SIGNATURE)) == SIGNATURE
    except OSError:
        return False

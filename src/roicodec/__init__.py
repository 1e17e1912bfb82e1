"""roicodec: region-of-interest scalable image compression.

A learned base layer codes the whole image; enhancement layers refine the region of interest up to exact. Importing
roicodec registers its Pillow plugin; the models run on ONNX Runtime, loaded only when pixels are coded, and torch
only for segmentation and training.
"""

from __future__ import annotations

from typing import Any

from roicodec.codec import DEFAULT_QUALITIES, LevelInfo, RoiFile, decode, encode, open, redescribe
from roicodec.errors import (
    CorruptFileError,
    ModelMismatchError,
    NotRoiFileError,
    OutputError,
    RoiError,
    TruncatedFileError,
    UnsupportedImageError,
    UnsupportedVersionError,
)
from roicodec.pillow_plugin import register_pillow


def __getattr__(name: str) -> Any:
    # importlib.metadata costs a reader 17 ms of import (a sixth of opening a file): look the version up when asked.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("roicodec")  # one source: pyproject.toml
        except PackageNotFoundError:  # run from a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'roicodec' has no attribute {name!r}")


__all__ = [
    "DEFAULT_QUALITIES",
    "CorruptFileError",
    "LevelInfo",
    "ModelMismatchError",
    "NotRoiFileError",
    "OutputError",
    "RoiError",
    "RoiFile",
    "TruncatedFileError",
    "UnsupportedImageError",
    "UnsupportedVersionError",
    "decode",
    "encode",
    "open",
    "redescribe",
    "register_pillow",
]

register_pillow()

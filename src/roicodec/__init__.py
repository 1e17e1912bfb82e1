"""roicodec: region-of-interest scalable image compression.

A semantic base layer codes the whole image; JPEG enhancement layers refine the region of interest. Importing
roicodec registers its Pillow plugin; torch loads only when pixels are coded.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

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

try:
    __version__ = version("roicodec")  # one source: pyproject.toml
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

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

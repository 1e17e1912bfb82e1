"""roicodec: region-of-interest scalable image compression.

A semantic base layer codes the whole image; JPEG enhancement layers refine the region of interest. Importing
roicodec registers its Pillow plugin; torch loads only when pixels are coded.
"""

from __future__ import annotations

from roicodec.codec import DEFAULT_QUALITIES, LevelInfo, RoiFile, decode, encode, open, redescribe
from roicodec.errors import (
    CorruptFileError,
    ModelMismatchError,
    NotRoiFileError,
    RoiError,
    TruncatedFileError,
    UnsupportedImageError,
    UnsupportedVersionError,
)
from roicodec.pillow_plugin import register_pillow

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_QUALITIES", "CorruptFileError", "LevelInfo", "ModelMismatchError", "NotRoiFileError", "RoiError",
    "RoiFile", "TruncatedFileError", "UnsupportedImageError", "UnsupportedVersionError", "decode", "encode", "open",
    "redescribe",
    "register_pillow",
]

register_pillow()

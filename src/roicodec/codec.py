"""The codec's public face: encode an image and its ROI into a ``.roi`` file, open one, decode any level of it.

Level 0 is the base layer; level k adds enhancement layers 1..k inside the ROI. The work is done in
:mod:`roicodec.inputs` (what an image and a mask are), :mod:`roicodec.encoder` (writing) and :mod:`roicodec.reader`
(reading); this module gathers what users call.
"""

from __future__ import annotations

from roicodec.encoder import DEFAULT_QUALITIES, DEFAULT_TILE, encode, redescribe
from roicodec.inputs import WINDOW_PERCENTILES, ArrayLike, ImageLike, Window
from roicodec.reader import LevelInfo, OutArray, RoiFile, Source, decode

__all__ = ["DEFAULT_QUALITIES", "DEFAULT_TILE", "WINDOW_PERCENTILES", "ArrayLike", "ImageLike", "LevelInfo",
           "OutArray", "RoiFile", "Source", "Window", "decode", "encode", "open", "redescribe"]


def open(source: Source) -> RoiFile:
    """Open a ``.roi`` file (path, bytes or binary file object) without decoding pixels."""
    return RoiFile(source)

"""The exceptions roicodec raises on bad input. Each message is one line that says what to do.

They subclass ``ValueError`` (and ``OSError`` for damaged files) so that code written for Pillow's documented
exceptions handles them without knowing roicodec.
"""

from __future__ import annotations


class RoiError(ValueError):
    """Base class of every error roicodec raises about its input."""


class NotRoiFileError(SyntaxError, RoiError):
    """The data does not start with the ``.roi`` signature (for example an ImageJ ROI file)."""


class CorruptFileError(RoiError, OSError):
    """A chunk failed its CRC-32 or a field is out of range: the file is damaged."""


class TruncatedFileError(CorruptFileError):
    """The file ends before the part that was asked for."""


class UnsupportedVersionError(RoiError):
    """The file was written by a newer major version of the format."""


class ModelMismatchError(RoiError):
    """The file was coded with base-layer weights that this installation does not have."""


class UnsupportedImageError(RoiError):
    """The image's mode, depth or size is one roicodec cannot code."""


class OutputError(RoiError, OSError):
    """The output cannot be written where it was asked for (the input itself, a directory, a missing folder)."""

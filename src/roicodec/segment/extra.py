"""Whether the ``segment`` extra is installed, checked without importing it."""

from __future__ import annotations

from importlib.util import find_spec

from roicodec.errors import RoiError

INSTALL_HINT = 'pip install "roicodec[segment]"'


class SegmentExtraMissing(RoiError):
    """Automatic ROI was asked for, but MMSegmentation and its companions are not installed."""


def require_segment_extra() -> None:
    """Raise :class:`SegmentExtraMissing`, naming the extra to install, unless mmseg, mmengine and mmcv import."""
    missing = [name for name in ("torch", "mmseg", "mmengine", "mmcv") if find_spec(name) is None]
    if missing:
        raise SegmentExtraMissing(f"automatic ROI needs {', '.join(missing)}: {INSTALL_HINT}")

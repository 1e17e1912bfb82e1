"""Whether the ``segment`` extra is installed, checked without importing it."""

from __future__ import annotations

from importlib.util import find_spec

from roicodec.errors import RoiError

INSTALL_HINT = 'pip install "roicodec[segment]"'


class SegmentExtraMissing(RoiError):
    """Automatic ROI was asked for, but MMSegmentation and its companions are not installed."""


MODULES = ("torch", "mmseg", "mmengine", "mmcv")
"""What the ``segment`` extra (pyproject.toml) must make importable."""


def missing_modules() -> list[str]:
    """The modules of :data:`MODULES` that are not installed (found without importing them)."""
    return [name for name in MODULES if find_spec(name) is None]


def require_segment_extra() -> None:
    """Raise :class:`SegmentExtraMissing`, naming the extra to install, unless mmseg, mmengine and mmcv import."""
    missing = missing_modules()
    if missing:
        raise SegmentExtraMissing(f"automatic ROI needs {', '.join(missing)}: {INSTALL_HINT}")

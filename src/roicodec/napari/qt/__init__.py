"""The plugin's dock widgets; the only part of roicodec that imports Qt (through napari and magicgui)."""

from roicodec.napari.qt._encode import EncodeWidget
from roicodec.napari.qt._inspect import InspectWidget
from roicodec.napari.qt._segment import SegmentWidget

__all__ = ["EncodeWidget", "InspectWidget", "SegmentWidget"]

"""Base-layer models. This package's own namespace stays free of torch: it is imported when files are opened."""

PREVIEW_SCALE = 4
"""Reduction of the preview head's output (``roicodec.models.preview``) against the image."""

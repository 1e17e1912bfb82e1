"""Base-layer models. Only ``nets`` and the modules of torch layers it gathers import torch: reading and writing files
runs the graphs of ``runtime``, and this namespace is imported when files are opened."""

PREVIEW_SCALE = 4
"""Reduction of the preview head's output (``roicodec.models.preview``) against the image."""
STRIDE = 16
"""Pixels per latent cell along each axis: images are padded to a multiple of this. Every architecture shares the
paper's geometry (four stride-2 5x5 layers, latent at 1/16), hence one tile grid."""

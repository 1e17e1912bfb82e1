"""How the models that ship inside roicodec were made: trainers for the base layer (``base_paper``, ``base_rd``),
the preview heads (``preview``) and the segmenters (``segmenter``), their evaluation, and ``export``, the one step
that puts a trained weight file into the package.

Not part of the installed package (nothing roicodec users import needs it): run from the repository root, e.g.
``python -m training.base_rd --data ../shared/data/bsds500``. Every trainer writes into its ``--work`` folder and
resumes from its checkpoint there after a stop.
"""

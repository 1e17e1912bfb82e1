"""The rate-distortion benchmark: roicodec against the paper's scalable JPEG and the codecs a user would pick instead.

``codecs`` adapts each codec (encode to bytes, decode to pixels), ``data`` gives the images and their ROI, ``run``
writes one JSON row per image x codec x operating point, ``speed`` times the codecs, ``analysis`` turns rows into
curves, ratios and BD-rates, ``plots`` and ``report`` draw and write them, ``command`` ties it into one command.
scikit-image, matplotlib and bjontegaard (the ``bench`` extra) load only when used.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """``roicodec bench``: see ``python -m roicodec.bench --help``."""
    from roicodec.bench.command import main as command_main

    return command_main(argv)


__all__ = ["main"]

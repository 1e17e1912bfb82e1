"""Where the shared data is (``../shared/data``, or ``$ROICODEC_DATA``), for tests that take it by path.

A plain module, not a conftest: test modules import from it, and a name as common as ``conftest`` would resolve to
whichever folder's conftest was imported last.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA = Path(os.environ.get("ROICODEC_DATA", Path(__file__).parents[1] / ".." / "shared" / "data")).resolve()


def kodak() -> list[Path]:
    """The 24 Kodak images; missing data is an error, not a skip, so that CI cannot pass without them."""
    paths = sorted((DATA / "kodak").glob("kodim*.png"))
    if len(paths) != 24:
        raise FileNotFoundError(f"expected the 24 Kodak images under {DATA}/kodak: set ROICODEC_DATA")
    return paths

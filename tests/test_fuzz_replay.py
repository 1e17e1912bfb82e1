"""Replay the fuzzers' seed corpus and every committed regression input through both fuzz targets.

The targets swallow the exceptions Pillow allows; anything else escapes and fails the test.
"""

from pathlib import Path

import pytest
from fuzz import targets

FUZZ = Path(__file__).parents[1] / "fuzz"
INPUTS = sorted((FUZZ / "corpus").iterdir()) + sorted((FUZZ / "regressions").iterdir())


def test_there_is_something_to_replay() -> None:
    assert len(INPUTS) >= 6


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_replay(path: Path) -> None:
    data = path.read_bytes()
    targets.parse(data)
    targets.pillow_load(data)


def test_regression_inputs_are_refused_cleanly() -> None:
    """Each regression input must now end in an allowed exception, not in pixels from garbage."""
    import roicodec

    for path in sorted((FUZZ / "regressions").iterdir()):
        with pytest.raises(targets.ALLOWED):
            roicodec.decode(targets.fix_crcs(path.read_bytes()))

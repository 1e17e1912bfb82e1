"""Replay the fuzzers' seed corpus and every committed regression input through both fuzz targets.

The targets swallow the exceptions Pillow allows; anything else escapes and fails the test. What they swallowed is
checked too: the seeds are valid files and must load, the regression inputs are damaged and must be refused for the
reason they were committed for.
"""

from pathlib import Path

import numpy as np
import pytest
from fuzz import targets
from PIL import Image

import roicodec
from roicodec.errors import CorruptFileError

FUZZ = Path(__file__).parents[1] / "fuzz"
SEEDS = sorted((FUZZ / "corpus").iterdir())
REGRESSIONS = sorted((FUZZ / "regressions").iterdir())
INPUTS = SEEDS + REGRESSIONS

REFUSED = {
    # Invalid symbols for the entropy model: the CRC catches them as committed, the entropy decoder once the CRC is
    # recomputed. The container parser reads no base layer, so with a good CRC it has nothing to refuse.
    "constriction-invalid-base.roi": {"parse": ["fails its CRC-32", None],
                                      "pillow_load": ["fails its CRC-32", "base layer does not decode"]},
}
"""Per regression input and target: for the input as committed and with its CRCs fixed, the message of the error
that must end it (None: it must get through)."""


def test_there_is_something_to_replay() -> None:
    assert len(SEEDS) >= 6 and set(REFUSED) == {p.name for p in REGRESSIONS}


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_replay(path: Path) -> None:
    data = path.read_bytes()
    outcomes = {"parse": targets.parse(data), "pillow_load": targets.pillow_load(data)}
    expected = REFUSED.get(path.name, {"parse": [None, None], "pillow_load": [None, None]})
    for target, results in outcomes.items():
        for candidate, result, want in zip(("as is", "CRCs fixed"), results, expected[target], strict=True):
            where = f"{target}, {candidate}"
            if want is None:
                assert result is None, f"{where}: a valid input was refused: {result!r}"
            else:
                assert isinstance(result, CorruptFileError) and want in str(result), f"{where}: {result!r}"


def test_truncated_seed_holds_the_levels_before_the_cut() -> None:
    """The truncated seed loads because a cut file is the prefix of its lower levels: it must give their pixels."""
    whole, cut = (FUZZ / "corpus" / "rgb_ladder.roi").read_bytes(), (FUZZ / "corpus" / "truncated.roi").read_bytes()
    assert whole.startswith(cut)
    with roicodec.open(cut) as f:
        assert (f.levels, f.header.levels) == (3, 4)
    assert np.array_equal(roicodec.decode(cut), roicodec.decode(whole, 2))


def test_pillow_target_keeps_its_limit_to_itself(monkeypatch) -> None:
    """The bomb limit holds while the target loads, and Pillow's own is back afterwards, whatever the outcome."""
    before = Image.MAX_IMAGE_PIXELS
    data = (FUZZ / "corpus" / "tiled.roi").read_bytes()  # 130x80 pixels
    assert targets.pillow_load(data) == [None, None]
    assert Image.MAX_IMAGE_PIXELS == before
    monkeypatch.setattr(targets, "MAX_PIXELS", 130 * 80 - 1)
    outcomes = targets.pillow_load(data)
    assert all(isinstance(o, (Image.DecompressionBombWarning, Image.DecompressionBombError)) for o in outcomes)
    assert Image.MAX_IMAGE_PIXELS == before


def test_regression_inputs_are_refused_cleanly() -> None:
    """Each regression input must now end in an allowed exception, not in pixels from garbage."""
    for path in REGRESSIONS:
        with pytest.raises(targets.ALLOWED):
            roicodec.decode(targets.fix_crcs(path.read_bytes()))

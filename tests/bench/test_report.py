"""The results page: the committed page is what the committed JSON makes, it quotes no issue, and its number formats
and decode-target sentence on made-up inputs whose answers are known."""

import re
import shutil
from pathlib import Path

import pytest

from roicodec.bench import main
from roicodec.bench.report import formats, markdown, speed

DOCS = Path(__file__).parents[2] / "docs"


def test_report_only_remakes_the_committed_page(tmp_path) -> None:
    """``--report-only`` on a copy of ``docs/results/`` gives ``docs/results.md`` back, byte for byte."""
    out = tmp_path / "results"
    shutil.copytree(DOCS / "results", out)
    assert main(["--out", str(out), "--report-only"]) == 0
    assert (tmp_path / "results.md").read_text() == (DOCS / "results.md").read_text()


def test_the_committed_page_quotes_no_issue() -> None:
    assert not re.search(r"\bissues?\b", (DOCS / "results.md").read_text(), re.IGNORECASE)


@pytest.mark.parametrize(("entry", "cell"), [
    ({"bd_rate": None, "overlap": 0.0}, "n/a (no common range)"),
    ({"bd_rate": None, "overlap": 0.3}, "n/a"),
    ({"bd_rate": -12.34, "overlap": 0.3, "coverage": 0.4}, "n/a (30 % overlap)"),
    ({"bd_rate": -12.34, "overlap": 0.3}, "n/a (30 % overlap)"),  # an older run's row: no coverage
    ({"bd_rate": -12.34, "overlap": 0.8, "coverage": 1.0}, "-12.3 %"),
    ({"bd_rate": 5.0, "overlap": 0.6, "coverage": 0.9, "common_range": [25.04, 27.46]}, "+5.0 % (over 25.0-27.5 dB)"),
    ({"bd_rate": 5.0, "overlap": 0.6, "coverage": 0.9, "common_range": [0.7111, 0.7925]}, "+5.0 % (over 0.711-0.792)"),
    ({"bd_rate": 5.0, "overlap": 0.6, "coverage": 0.9}, "+5.0 % (60 % overlap)"),
])
def test_bd_rate_cell(entry, cell) -> None:
    assert formats.bd_rate(entry) == cell


def test_times_keep_a_decimal_below_ten() -> None:
    assert [formats.times(x) for x in (0.04, 1.0, 9.94, 12.4)] == ["0.0x", "1.0x", "9.9x", "12x"]


def test_table() -> None:
    assert markdown.table(["a", "b"], "lr", [["1", "2"], ["3", "4"]]) == "| a | b |\n|---|---:|\n| 1 | 2 |\n| 3 | 4 |"


def test_bullets_indent_an_items_later_lines() -> None:
    assert markdown.bullets(["one\ntwo", "three"]) == "- one\n  two\n- three"


def _row(codec: str, setting, decode_s: float) -> dict:
    return {"codec": codec, "setting": setting, "what": "x", "images": 2, "size": "full", "repeats": 1,
            "encode_s": 1.0, "decode_s": decode_s, "encode_mp_s": 1.0, "decode_mp_s": 1.0}


def test_decode_target_sorts_models_by_the_streams_they_keep_up_with() -> None:
    rows = [_row("jpeg", 75, 0.1), _row("jpeg2000", 0.4, 0.2), _row("jpeg2000", 6.0, 1.0),
            _row("base", "a", 0.9), _row("base", "b", 4.0), _row("base", "c", 6.0)]
    blocks = speed.section(rows)
    assert "Decode target: the base layer decodes in at most 5x JPEG 2000's time." in blocks[-3]
    assert blocks[-1] == (
        "Decode target in this run: `a` within 5x of both JPEG 2000 streams; `b` within 5x of JPEG 2000 (6.0 bpp) "
        "only; `c` slower than 5x of every JPEG 2000 stream.")

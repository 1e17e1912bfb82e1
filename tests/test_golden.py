"""The same bytes for the same input: the fuzz corpus, coded afresh by today's encoder, equals the committed files
(written before the codec was split into inputs, encoder and reader). Coding is reproducible for a given machine,
torch build and thread count (README), which the committed files were made with."""

import pytest

from fuzz import make_corpus

pytestmark = pytest.mark.read_only  # these run in the plain install too (.ci/run)


@pytest.fixture(scope="module")
def fresh() -> dict[str, bytes]:
    return make_corpus.seeds()


@pytest.mark.parametrize("name", sorted(p.name for p in make_corpus.OUT.glob("*.roi")))
def test_corpus_reproduces_byte_for_byte(fresh: dict[str, bytes], name: str) -> None:
    assert fresh[name] == (make_corpus.OUT / name).read_bytes()


def test_format_1_0_files_decode_to_the_pixels_they_always_did() -> None:
    """SHA-256 of every level of every 1.0 seed as the decoder before format 1.1 (commit 717cfd8) gave them:
    ``tests/data/corpus_pixels.json`` was written by that commit's ``roicodec.open(path).decode_all()``."""
    import hashlib
    import json
    from pathlib import Path

    import roicodec

    want = json.loads((Path(__file__).parent / "data" / "corpus_pixels.json").read_text())
    assert set(want) == {p.name for p in make_corpus.OUT.glob("*.roi") if not p.name.startswith("v11")}
    for name, levels in want.items():
        with roicodec.open(make_corpus.OUT / name) as f:
            assert f.header.version == (1, 0)
            assert [hashlib.sha256(level.tobytes()).hexdigest() for level in f.decode_all()] == levels, name

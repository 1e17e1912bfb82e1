"""The same bytes for the same input: the fuzz corpus, coded afresh by today's encoder, equals the committed files
(written before the codec was split into inputs, encoder and reader). Coding is reproducible for a given machine,
torch build and thread count (README), which the committed files were made with."""

import pytest

from fuzz import make_corpus


@pytest.fixture(scope="module")
def fresh() -> dict[str, bytes]:
    return make_corpus.seeds()


@pytest.mark.parametrize("name", sorted(p.name for p in make_corpus.OUT.glob("*.roi")))
def test_corpus_reproduces_byte_for_byte(fresh: dict[str, bytes], name: str) -> None:
    assert fresh[name] == (make_corpus.OUT / name).read_bytes()

"""The same bytes for the same input: the fuzz corpus, coded afresh by today's encoder, equals the committed files
(written before the codec was split into inputs, encoder and reader). Coding is reproducible for a given machine,
torch build and thread count (README), which the committed files were made with, and for the layer codecs' versions
(``fuzz/corpus_codecs.json``). Decoding is the same with any of those versions: the committed files decode to the
pixels they always did."""

import hashlib
import json
from pathlib import Path

import pytest

from fuzz import make_corpus

pytestmark = pytest.mark.read_only  # these run in the plain install too (.ci/run)


@pytest.fixture(scope="module")
def fresh() -> dict[str, bytes]:
    return make_corpus.seeds()


@pytest.fixture(scope="module")
def codecs() -> tuple[dict[str, str], dict[str, str]]:
    """The layer codecs' versions that wrote the corpus, and this install's."""
    return json.loads(make_corpus.CODECS.read_text()), make_corpus.codec_versions()


DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("name", sorted(p.name for p in make_corpus.OUT.glob("*.roi")))
def test_corpus_reproduces_byte_for_byte(fresh: dict[str, bytes], codecs: tuple[dict[str, str], dict[str, str]],
                                         name: str) -> None:
    # Format 1.1's layers are AVIF, JPEG XL and JPEG-LS from imagecodecs; the 1.0 files' are Pillow's JPEG. Another
    # version of an encoder may choose other bytes for the same pixels (imagecodecs 2026.11, the newest on Python
    # 3.12+, bundles newer libraries than 2026.3, the newest on 3.11), so bytes are compared only with the versions
    # that wrote the corpus; the decoding tests below hold for every version.
    uses = ("imagecodecs", "avif", "jpegxl", "jpegls") if name.startswith("v11") else ("libjpeg_turbo",)
    then, now = codecs
    changed = [f"{then[k]} -> {now[k]}" for k in uses if then[k] != now[k]]
    if changed:
        pytest.skip(f"{name} was written by other encoder versions than this install's ({', '.join(changed)})")
    assert fresh[name] == (make_corpus.OUT / name).read_bytes()


def test_format_1_0_files_decode_to_the_pixels_they_always_did() -> None:
    """SHA-256 of every level of every 1.0 seed as the decoder before format 1.1 (commit 717cfd8) gave them:
    ``tests/data/corpus_pixels.json`` was written by that commit's ``roicodec.open(path).decode_all()``."""
    import roicodec

    want = json.loads((DATA / "corpus_pixels.json").read_text())
    assert set(want) == {p.name for p in make_corpus.OUT.glob("*.roi") if not p.name.startswith("v11")}
    for name, levels in want.items():
        with roicodec.open(make_corpus.OUT / name) as f:
            assert f.header.version == (1, 0)
            assert [hashlib.sha256(level.tobytes()).hexdigest() for level in f.decode_all()] == levels, name


def test_format_1_1_files_decode_to_the_pixels_they_did_when_written() -> None:
    """SHA-256 of every level of every 1.1 seed, as ``roicodec.open(path).decode_all()`` gave them with the codec
    versions in ``fuzz/corpus_codecs.json`` (``tests/data/corpus_pixels_v11.json``): AVIF, JPEG XL and JPEG-LS decoders
    are exact, so a newer imagecodecs must give the same pixels."""
    import roicodec

    want = json.loads((DATA / "corpus_pixels_v11.json").read_text())
    assert set(want) == {p.name for p in make_corpus.OUT.glob("v11*.roi")}
    for name, levels in want.items():
        with roicodec.open(make_corpus.OUT / name) as f:
            assert f.header.version == (1, 1)
            assert [hashlib.sha256(level.tobytes()).hexdigest() for level in f.decode_all()] == levels, name

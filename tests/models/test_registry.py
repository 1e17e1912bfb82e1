import hashlib
import io
import shutil

import numpy as np
import pytest
from PIL import Image

import roicodec
from roicodec import weights
from roicodec.errors import ModelMismatchError
from roicodec.models import registry, store
from roicodec.models.store import digest


def test_default_model_ships_with_its_card() -> None:
    info = registry.info()
    assert info.name == registry.DEFAULT
    assert info.hash == digest(info.path) and len(info.hash) == 8
    assert info.path.with_suffix(".md").exists()
    assert info.path.stat().st_size < 5 * 2**20


def test_base_model_weights_stay_within_their_budget() -> None:
    # Issue 20: 35 MB at most for every base model, its preview head and the graphs that run them, together (the
    # graphs hold no weights: they are a few kB each).
    from roicodec.models import runtime

    graphs = sum(p.stat().st_size for p in runtime.GRAPHS.glob("*.onnx"))
    assert graphs < 100_000
    assert sum(p.stat().st_size for p in registry.WEIGHTS.glob("*.npz")) + graphs <= 35_000_000


def test_other_weights_are_refused_naming_both_hashes() -> None:
    info = registry.info()
    with pytest.raises(ModelMismatchError) as exc:
        registry.load(info.name, b"\x00" * 8)
    assert "0000000000000000" in str(exc.value) and info.hash.hex() in str(exc.value)


def test_unknown_model_is_named() -> None:
    with pytest.raises(ModelMismatchError, match="'nope'.*paper-ae"):
        registry.load("nope", b"\x00" * 8)


SHIPPED = {
    "hp-q1": "02f0844e3e162195",
    "hp-q2": "76b0935fc09f14ba",
    "hp-q3": "7d4bb7b1bae68daf",
    "hp-q4": "4891dc9633d43793",
    "hp-q5": "fb77d7d138171c62",
    "hps-q1": "04406caa40e992d2",
    "hps-q2": "40f735415a5d1472",
    "hps-q3": "5ea4cc1bb931c10a",
    "hps-q4": "081a3d0ed54c03ff",
    "hps-q5": "9fb42b585090a3cf",
    "paper-ae": "9676a9596235862f",
    "rd-q1": "00024171128e61c3",
    "rd-q2": "e9b9d1d61a040428",
    "rd-q3": "74b12fd5538c3816",
    "rd-q4": "fa2f458545471a00",
    "rd-q5": "8e9fcd5c30ab6f79",
}
"""The hash every ``.roi`` file written so far records for its model. A change to a shipped weight file (or to how
the hash is taken) makes every one of those files undecodable: it must show here and be deliberate."""


def test_shipped_models_keep_their_hashes() -> None:
    models = registry.available()
    assert {name: m.hash.hex() for name, m in models.items()} == SHIPPED
    for name, m in models.items():  # the hash is the first 8 bytes of the file's SHA-256, as docs/format.md says
        assert hashlib.sha256(m.path.read_bytes()).hexdigest()[:16] == SHIPPED[name]
        assert f"hash `{SHIPPED[name]}`" in m.path.with_suffix(".md").read_text()


@pytest.fixture(scope="module")
def other_weights(tmp_path_factory) -> tuple[bytes, bytes]:
    """A file coded with other weights under the default model's name, and those weights' hash.

    The shipped weights are written again with one more recipe entry: the same model bit for bit, another file, and
    so another hash, as a retrained or hand-edited model would have. The file is coded with them, for real."""
    folder = tmp_path_factory.mktemp("other-weights")
    shipped = registry.info()
    meta, arrays = weights.read(shipped.path)
    meta["recipe"] = dict(meta["recipe"], note="not the shipped file")
    weights.write(folder / shipped.path.name, arrays, meta)
    lender = store.borrowed(shipped.path, meta)  # the default borrows its transforms: they come along as they are
    if lender is not None:
        shutil.copy(lender, folder)
    image = np.random.default_rng(0).integers(0, 256, (64, 80, 3), dtype=np.uint8)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(registry, "WEIGHTS", folder)
        other = registry.info()
        assert other.hash != shipped.hash
        data = roicodec.encode(image, None, qualities=(90,))
    with roicodec.open(data) as f:
        assert f.model == (shipped.name, other.hash.hex())
    return data, other.hash


def _names_both(message: str, other: bytes) -> bool:
    return other.hex() in message and registry.info().hash.hex() in message and registry.DEFAULT in message


def test_other_weights_are_refused_by_the_api(other_weights) -> None:
    data, other = other_weights
    for decode in (lambda: roicodec.decode(data, 0), lambda: roicodec.decode(data)):
        with pytest.raises(ModelMismatchError) as exc:
            decode()
        assert _names_both(str(exc.value), other)


def test_other_weights_are_refused_by_pillow(other_weights) -> None:
    data, other = other_weights
    with Image.open(io.BytesIO(data)) as im:  # the header alone opens: it names the model, and no pixels come
        with pytest.raises(ModelMismatchError) as exc:
            im.load()
        assert _names_both(str(exc.value), other)
    with Image.open(io.BytesIO(data)) as im:  # the preview head too: thumbnail() drafts at twice 8x8, 1/4 of 80x64
        with pytest.raises(ModelMismatchError) as exc:
            im.thumbnail((8, 8))
        assert _names_both(str(exc.value), other)


def test_other_weights_are_refused_by_the_cli(other_weights, tmp_path, capsys) -> None:
    from roicodec.cli import main

    data, other = other_weights
    (tmp_path / "in.roi").write_bytes(data)
    assert main(["decode", str(tmp_path / "in.roi"), "-o", str(tmp_path / "out.png")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and _names_both(err, other)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.roi"]

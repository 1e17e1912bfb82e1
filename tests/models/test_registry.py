import pytest

from roicodec.errors import ModelMismatchError
from roicodec.models import registry
from roicodec.models.store import digest


def test_default_model_ships_with_its_card() -> None:
    info = registry.info()
    assert info.name == registry.DEFAULT
    assert info.hash == digest(info.path) and len(info.hash) == 8
    assert info.path.with_suffix(".md").exists()
    assert info.path.stat().st_size < 5 * 2**20


def test_base_model_weights_stay_within_their_budget() -> None:
    # Issue 7: 20 MB at most for every base model and its preview head together.
    assert sum(p.stat().st_size for p in registry.WEIGHTS.glob("*.npz")) <= 20_000_000


def test_other_weights_are_refused_naming_both_hashes() -> None:
    info = registry.info()
    with pytest.raises(ModelMismatchError) as exc:
        registry.load(info.name, b"\x00" * 8)
    assert "0000000000000000" in str(exc.value) and info.hash.hex() in str(exc.value)


def test_unknown_model_is_named() -> None:
    with pytest.raises(ModelMismatchError, match="'nope'.*paper-ae"):
        registry.load("nope", b"\x00" * 8)

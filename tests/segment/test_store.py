import numpy as np
import pytest

from roicodec.segment.store import load_weights, save_weights
from roicodec.weights import read_meta


def test_round_trip_halves_floats_keeps_integers(tmp_path) -> None:
    torch = pytest.importorskip("torch")
    state = {"w": torch.linspace(-1, 1, 7), "index": torch.arange(5), "count": torch.tensor(3)}
    path = save_weights(tmp_path / "m.npz", state, {"name": "m", "classes": ["a"]})
    assert read_meta(path) == {"name": "m", "classes": ["a"]}
    meta, loaded = load_weights(path)
    assert loaded["w"].dtype == torch.float32 and torch.allclose(loaded["w"], state["w"], atol=1e-3)
    assert torch.equal(loaded["index"], state["index"]) and loaded["count"].item() == 3
    with np.load(path, allow_pickle=False) as npz:  # loadable with pickle off: a weight file cannot run code
        assert npz["param/w"].dtype == np.float16

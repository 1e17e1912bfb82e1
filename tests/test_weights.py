import numpy as np
import pytest

from roicodec import weights


@pytest.mark.parametrize("compressed", [False, True])
def test_round_trip_without_pickle(tmp_path, compressed) -> None:
    arrays = {"param/w": np.arange(6, dtype=np.float32).reshape(2, 3), "freq/0": np.array([1, 2], np.uint32)}
    path = weights.write(tmp_path / "m.npz", arrays, {"name": "m", "n": 2}, compressed=compressed)
    meta, back = weights.read(path)
    assert meta == weights.read_meta(path) == {"name": "m", "n": 2}
    assert back.keys() == arrays.keys() and all(np.array_equal(back[k], arrays[k]) for k in arrays)
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_object_arrays_are_refused(tmp_path) -> None:
    path = tmp_path / "evil.npz"
    np.savez(path, meta=np.frombuffer(b"{}", np.uint8), param=np.array([object()], dtype=object))
    with pytest.raises(ValueError):
        weights.read(path)

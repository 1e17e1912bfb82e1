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


def test_arrays_are_read_when_asked_for(tmp_path) -> None:
    arrays = {"param/g_a.w": np.ones((2, 2), np.float32), "param/g_s.w": np.arange(3, dtype=np.float32)}
    path = weights.write(tmp_path / "m.npz", arrays, {"name": "m"}, compressed=True)
    meta, lazy = weights.open_arrays(path)
    assert meta == {"name": "m"} and sorted(lazy) == sorted(arrays) and len(lazy) == 2
    assert lazy._cache == {}  # nothing decompressed yet: a reader takes the decoder's arrays only
    assert np.array_equal(lazy["param/g_s.w"], arrays["param/g_s.w"]) and list(lazy._cache) == ["param/g_s.w"]
    with pytest.raises(KeyError):
        lazy["meta"]  # the meta block is not an array of the model
    path.unlink()  # the file was read once, whole: no handle stays open on it
    assert np.array_equal(lazy["param/g_a.w"], arrays["param/g_a.w"])

import numpy as np
import pytest

from roicodec import weights
from roicodec.models import registry
from roicodec.models.hyper_coder import read_tables


def test_packed_tables_are_the_per_table_arrays_cut_by_their_lengths(tmp_path) -> None:
    # The hp files store one array per table; files from hp2 on one array and its lengths. Both read the same.
    _, shipped = weights.open_arrays(registry.info("hp-q1").path)
    legacy = read_tables(shipped, "scale", 256)
    packed = {"scale_freqs": np.concatenate(legacy), "scale_lengths": np.array([len(t) for t in legacy], np.int32)}
    path = weights.write(tmp_path / "t.npz", packed, {"name": "t"}, compressed=True)
    back = read_tables(weights.open_arrays(path)[1], "scale", 256)
    assert len(back) == 256 and all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(back, legacy))
    assert len({len(t) for t in legacy}) > 1  # the cut matters: the tables differ in length


def test_packed_tables_that_do_not_add_up_are_refused() -> None:
    arrays = {"z_freqs": np.ones(10, np.uint32), "z_lengths": np.array([4, 5], np.int32)}
    with pytest.raises(ValueError, match="do not add up"):
        read_tables(arrays, "z", 2)
    with pytest.raises(ValueError, match="do not add up"):
        read_tables({**arrays, "z_lengths": np.array([4, 6], np.int32)}, "z", 3)

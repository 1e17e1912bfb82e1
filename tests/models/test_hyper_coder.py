import numpy as np
import pytest

from roicodec import weights
from roicodec.models import hyper_coder, registry
from roicodec.models.gaussian import MEAN_STEPS, table_index
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


@pytest.mark.read_only
@pytest.mark.parametrize("name", [n for n in sorted(registry.available()) if n.startswith("hp-")])
def test_tables_in_bands_are_those_of_one_run(name: str, monkeypatch) -> None:
    """h_s runs band by band with its halo: every table index and centre equals one run's over the whole
    hyper-latent, at band edges too (bands of 3 rows: many edges), and a latent that ends mid-cell is cut right."""
    coder = registry.load(name).coder
    rng = np.random.default_rng(5)
    offsets, sizes = np.asarray(coder.z_coder.offsets), np.asarray(coder.z_coder.sizes)
    z = rng.integers(offsets, offsets + sizes, (13, 9, coder.hyper_channels)).transpose(2, 0, 1).astype(np.int16)
    shape = (13 * hyper_coder.HYPER_STRIDE - 3, 9 * hyper_coder.HYPER_STRIDE - 1)
    whole = coder.h_s(z)[:, :shape[0], :shape[1]]
    m = whole.shape[0] // 2
    monkeypatch.setattr(hyper_coder, "SYNTHESIS_BAND", 3)
    table, centre = coder.tables(z, shape)
    assert np.array_equal(coder.index(z, shape), whole)
    assert np.array_equal(table, table_index(whole[:m], whole[m:] % MEAN_STEPS))
    assert np.array_equal(centre, whole[m:] // MEAN_STEPS)
    assert len(np.unique(table)) > 10  # not a hyper-latent that every band maps to one table

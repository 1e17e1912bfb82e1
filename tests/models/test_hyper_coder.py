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


@pytest.mark.read_only
@pytest.mark.parametrize("band_cells", [1 << 20, 3000])
def test_a_payload_read_from_docs_format_md_alone(band_cells: int, monkeypatch) -> None:
    """docs/format.md's hyperprior BASE payload, read with constriction and the weight file's arrays only: z's size
    and stream, h_s's scale index and quarter-step mean per cell, table 4 s + (mu mod 4), symbols relative to
    floor(mu / 4), bands of whole rows of at most ``band_cells`` cells grouped by table (here also small bands: many
    of them)."""
    import constriction

    from roicodec.models import gaussian

    monkeypatch.setattr(gaussian, "BAND_CELLS", band_cells)
    model = registry.load("hps-q1")
    _, arrays = weights.open_arrays(registry.info("hps-q1").path)
    rng = np.random.default_rng(2)
    latent = np.clip(np.round(rng.normal(0, 3, (model.latent_channels, 22, 19))), -40, 40).astype(np.int16)
    payload, used = model.code(latent)

    def categorical(counts: np.ndarray):
        return constriction.stream.model.Categorical(counts.astype(np.float64) / float(counts.sum()), perfect=False)

    def words(data: bytes) -> np.ndarray:
        return np.frombuffer(data, "<u4").astype(np.uint32)

    size = int.from_bytes(payload[:4], "little")
    zc = model.coder.hyper_channels
    zh, zw = -(-22 // 4), -(-19 // 4)
    z_decoder = constriction.stream.queue.RangeDecoder(words(payload[4:4 + size]))
    z = np.stack([z_decoder.decode(categorical(t), zh * zw) + int(o)
                  for t, o in zip(read_tables(arrays, "z", zc), arrays["z_offsets"])]).reshape(zc, zh, zw)
    out = model.coder.h_s(z)[:, :22, :19]
    c = model.latent_channels
    scale, mean = out[:c], out[c:]
    table = 4 * scale + mean % 4
    tables, low = read_tables(arrays, "scale", 256), arrays["scale_offsets"]
    y_decoder = constriction.stream.queue.RangeDecoder(words(payload[4 + size:]))
    rows = max(1, band_cells // (c * 19))
    symbols = np.empty(latent.shape, np.int64)
    for r0 in range(0, 22, rows):
        band = table[:, r0:r0 + rows]
        flat = band.ravel()
        values = np.empty(flat.size, np.int64)
        for k in np.unique(flat):
            cells = np.flatnonzero(flat == k)
            values[cells] = y_decoder.decode(categorical(tables[k]), len(cells)) + int(low[k])
        symbols[:, r0:r0 + rows] = values.reshape(band.shape)
    assert np.array_equal(symbols + mean // 4, used)
    assert np.array_equal(model.uncode(payload, 22 * 16, 19 * 16), used)

"""The tiled runner: the decoder's context (``SYNTHESIS_HALO``) covers its receptive field, synthesis in blocks
gives the pixels of one run, and a scale-hyperprior model codes and decodes through the same runner."""

from __future__ import annotations

import numpy as np
import pytest

from roicodec.models import STRIDE, base_model, registry, runtime
from roicodec.models.base_model import BaseModel


def _synthesis_graphs():
    for name in sorted(registry.available()):
        model = registry.load(name)
        yield name, model._graph("g_s"), STRIDE
        if model.has_preview:
            yield f"{name}.preview", model._graph("preview"), STRIDE // 4


@pytest.mark.read_only
def test_the_decoders_context_covers_its_receptive_field() -> None:
    before, after = base_model.SYNTHESIS_HALO
    rng = np.random.default_rng(0)
    for name, graph, stride in _synthesis_graphs():
        channels = 8 if name.startswith("paper-ae") else 96
        x = rng.integers(-2, 3, (1, channels, 12, 12)).astype(np.float32)
        bumped = x.copy()
        bumped[0, :, 6, 6] += 20
        changed = np.flatnonzero(np.abs(graph(x)[0].astype(int) - graph(bumped)[0].astype(int)).max(axis=(1, 2)))
        # Pixels of cells 6 - after .. 6 + before may depend on cell 6; no others.
        first, last = changed.min() // stride, changed.max() // stride
        assert 6 - after <= first and last <= 6 + before, (name, first, last)


@pytest.mark.read_only
def test_blocks_give_the_pixels_of_one_run(monkeypatch) -> None:
    model = registry.load("rd-q1")
    rng = np.random.default_rng(1)
    latent = rng.integers(-3, 4, (96, 13, 17)).astype(np.int16)
    (tile,) = model.tiles(13 * STRIDE - 5, 17 * STRIDE - 9, 1024)
    whole = model.synthesise_tile(latent, tile)
    monkeypatch.setattr(base_model, "BLOCK", 8)  # 5 x 5 cells of output per run: 3 x 4 blocks
    blocks = model.synthesise_tile(latent, tile)
    assert whole.shape == blocks.shape == (13 * STRIDE - 5, 17 * STRIDE - 9, 3)
    assert np.abs(whole.astype(int) - blocks.astype(int)).max() <= 1
    assert (whole != blocks).mean() < 1e-3


@pytest.mark.read_only
@pytest.mark.parametrize(("start", "stop", "most"), [(0, 64, 21), (64, 80, 21), (0, 54, 21), (3, 4, 21), (0, 21, 21),
                                                      (0, 22, 21), (5, 1000, 7)])
def test_blocks_are_the_fewest_and_even(start: int, stop: int, most: int) -> None:
    cuts = base_model.cuts(start, stop, most)
    sizes = np.diff(cuts)
    assert cuts[0] == start and cuts[-1] == stop
    assert len(sizes) == -(-(stop - start) // most)
    assert sizes.max() <= most and sizes.max() - sizes.min() <= 1


@pytest.fixture(scope="module")
def tiny_hyperprior(tmp_path_factory) -> tuple[dict, dict]:
    """A scale-hyperprior weight file from four iterations of its trainer, and its graphs in a scratch folder."""
    torch = pytest.importorskip("torch")
    from PIL import Image
    from training import base_hyper, export_onnx

    tmp = tmp_path_factory.mktemp("hp")
    rng = np.random.default_rng(2)
    for split, count in (("train", 3), ("val", 1), ("test", 1)):
        (tmp / "data" / split).mkdir(parents=True)
        for i in range(count):
            smooth = np.cumsum(np.cumsum(rng.normal(size=(96, 96, 3)), 0), 1)
            pixels = (smooth - smooth.min()) / np.ptp(smooth) * 255
            Image.fromarray(pixels.astype(np.uint8)).save(tmp / "data" / split / f"{i}.jpg")
    threads = torch.get_num_threads()
    base_hyper.main(["--data", str(tmp / "data"), "--work", str(tmp / "work"), "--batch", "4", "--crop", "64",
                     "--channels", "8", "--latent-channels", "6", "--hyper-channels", "4", "--init-rd",
                     "--eval-every", "2", "--iters", "4", "--threads", "1"])
    torch.set_num_threads(threads)
    path = tmp / "work" / "hp-q3.npz"
    export_onnx.export([path], tmp / "graphs")
    from roicodec.models import store

    return store.read(path), tmp / "graphs"  # its transforms are hp-q1's, shared by the family


def test_a_hyperprior_model_codes_and_decodes_through_the_graphs(tiny_hyperprior, monkeypatch, astronaut) -> None:
    import torch

    from roicodec.models import nets

    (meta, arrays), graphs = tiny_hyperprior
    # Stored as float16; the three layers the rate's gains fold into come out in float32.
    folded = {"param/g_a.6.weight", "param/g_a.6.bias", "param/g_s.0.weight"}
    assert {a.dtype for k, a in arrays.items() if k.startswith("param/") and k not in folded} == {np.dtype(np.float16)}
    assert {arrays[k].dtype for k in folded} == {np.dtype(np.float32)}
    monkeypatch.setattr(runtime, "GRAPHS", graphs)
    model = BaseModel(meta, arrays)
    image = np.ascontiguousarray(astronaut[:150, :200])
    latent = model.analyse(image, 1024)
    data, used = model.code(latent)
    assert np.array_equal(model.uncode(data, 150, 200), used)
    net = nets.build(meta, arrays)
    with torch.inference_mode():
        # h_a on ONNX Runtime against torch: z may round the other way on a .5 boundary, nowhere else.
        z = model.coder.hyper_latent(used)
        y = torch.from_numpy(used.astype(np.float32))[None]
        raw = net.h_a(y)[0].numpy()
        want_z = model.coder.z_coder.clamp(np.round(raw).astype(np.int16))
        assert np.abs(z.astype(int) - want_z.astype(int)).max() <= 1
        # Cells may round the other way only where torch's value sits within float error of a .5 boundary.
        off = z != want_z
        assert np.all(np.abs(np.abs(raw[off] - np.floor(raw[off])) - 0.5) < 1e-3)
        want = net.g_s(torch.from_numpy(used.astype(np.float32))[None])[0].mul_(255.0).round_().clamp_(0, 255)
    (tile,) = model.tiles(150, 200, 1024)
    got = model.synthesise_tile(used, tile)
    assert np.abs(got.astype(int) - want.to(torch.uint8).permute(1, 2, 0).numpy()[:150, :200]).max() <= 1

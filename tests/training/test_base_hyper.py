import json

import numpy as np
import pytest

from roicodec import weights
from roicodec.models.base_model import BaseModel
from training import base_hyper, base_rd, export_onnx

SMALL = ["--batch", "5", "--crop", "64", "--channels", "8", "--latent-channels", "6", "--eval-every", "2",
         "--threads", "1"]


def test_trains_resumes_exports_and_the_shipped_indices_are_the_trained_ones(tiny_bsds, tmp_path, capsys,
                                                                              keep_torch_threads, astronaut) -> None:
    import torch

    from roicodec.models import store

    work = tmp_path / "hp"
    argv = ["--data", str(tiny_bsds), "--work", str(work), *SMALL, "--hyper-channels", "4", "--init-rd",
            "--iters", "2"]
    assert base_hyper.main(argv) == 0
    log = [json.loads(line) for line in (work / "log.jsonl").read_text().splitlines()]
    assert log[-1]["iter"] == 2 and len(log[-1]["bsds_test"]) == len(base_hyper.LAMBDAS)
    with pytest.raises(SystemExit):  # the checkpoint belongs to --iters 2
        base_hyper.main([*argv[:-1], "4"])
    assert "--iters 2" in capsys.readouterr().err

    family = base_hyper.HyperFamily(8, 6, 4, base_hyper.LAMBDAS)
    family.load_state_dict(torch.load(work / "last.ckpt", weights_only=True)["model"])
    graphs = tmp_path / "graphs"
    export_onnx.export([work / "hp-q1.npz"], graphs)  # the tiny widths have no shipped graphs
    for q in (1, 5):
        meta, arrays = weights.read(work / f"hp-q{q}.npz")
        assert meta["architecture"] == "HyperpriorAutoencoder" and meta["recipe"]["trained_iters"] == 2
        assert all(v.dtype == np.float16 for k, v in arrays.items() if k.startswith("param/"))
        meta, arrays = store.read(work / f"hp-q{q}.npz")  # the trained transforms are hp-q1's, shared
        model = BaseModel(meta, arrays, graphs)
        latent = model.analyse(astronaut[:100, :150], 1024)
        data, used = model.code(latent)
        assert np.array_equal(model.uncode(data, 100, 150), used)
        # The decoder's integer network computes exactly the scale indices and means training rounded to.
        z = model.coder.hyper_latent(latent)
        with torch.no_grad():
            trained = family.h_s(torch.from_numpy(z.astype(np.float32))[None], q - 1)[0].numpy()
        shipped = model.coder.index(z, latent.shape[1:])
        assert np.array_equal(shipped, trained[:, :latent.shape[1], :latent.shape[2]])
        assert shipped.shape[0] == 12 and len(np.unique(shipped[:6])) > 1  # 6 scale indices, 6 means


def test_warm_start_recovers_the_rd_family_it_was_exported_from(tiny_bsds, tmp_path, keep_torch_threads) -> None:
    import torch

    rd = tmp_path / "rd"
    assert base_rd.main(["--data", str(tiny_bsds), "--work", str(rd), *SMALL, "--iters", "2"]) == 0
    rd_files = sorted(rd.glob("rd-q*.npz"))
    torch.manual_seed(0)
    family = base_hyper.HyperFamily(8, 6, 4, base_hyper.LAMBDAS)
    family.warm_start(rd_files)
    for r, path in enumerate(rd_files):
        exported = family.export(r).state_dict()
        shipped = {k.removeprefix("param/"): v for k, v in weights.read(path)[1].items() if k.startswith("param/")}
        for key in [k for k in shipped if k.startswith(("g_a.", "g_s."))]:
            assert np.allclose(exported[key].numpy(), shipped[key], rtol=1e-5, atol=1e-7), (path.name, key)


def test_augmentation_darkens_and_permutes_only_its_share(keep_torch_threads) -> None:
    import torch

    x = torch.rand(400, 3, 4, 4)
    out = base_hyper.augment(x.clone(), np.random.default_rng(0), dark=0.25, permute=0.25)
    changed = np.mean([not torch.equal(a, b) for a, b in zip(out, x)])
    assert 0.3 < changed < 0.5  # expected 1 - 0.75 * (0.75 + 0.25 / 6) = 0.41
    assert out.max() <= x.max()  # darkened, never brightened
    # Channels are only reordered or scaled together: the sorted channel values keep their ratios.
    ratio = out.sort(dim=1).values / x.sort(dim=1).values
    assert torch.allclose(ratio, ratio[:, :1], atol=1e-5)


def test_frozen_transforms_give_the_same_bits_and_train_only_the_hyper_branch(keep_torch_threads) -> None:
    import torch

    torch.manual_seed(0)
    family = base_hyper.HyperFamily(8, 6, 4, base_hyper.LAMBDAS)
    x, rates = torch.rand(5, 3, 64, 64), torch.arange(5)
    x_hat, bits = family(x, rates, noise=False)
    none, frozen_bits = family(x, rates, noise=False, transforms=False)
    assert none is None and x_hat.shape == x.shape and torch.allclose(bits, frozen_bits)
    frozen_bits.mean().backward()
    assert all(p.grad is None for p in family.transform_parameters())
    assert all(p.grad is not None for p in family.h_a_first[0].parameters())


def test_a_run_with_frozen_transforms_borrows_them_from_its_rd_twins(tiny_bsds, tmp_path, keep_torch_threads,
                                                                     astronaut) -> None:
    import shutil

    from roicodec.errors import ModelMismatchError
    from roicodec.models import registry, store

    lenders = tmp_path / "weights"
    lenders.mkdir()
    for q in range(1, 6):
        shutil.copy(registry.info(f"rd-q{q}").path, lenders)
    shutil.copy(registry.info("rd-q1").path.with_suffix(".preview.npz"), lenders)
    work = tmp_path / "hp"
    argv = ["--data", str(tiny_bsds), "--work", str(work), "--batch", "5", "--crop", "64", "--eval-every", "2",
            "--threads", "1", "--iters", "2", "--freeze", "2", "--init-rd",
            *[str(lenders / f"rd-q{q}.npz") for q in range(1, 6)]]
    assert base_hyper.main(argv) == 0
    path = work / "hp-q1.npz"
    meta, arrays = weights.read(path)
    assert meta["transforms"] == {"model": "rd-q1", "hash": store.digest(lenders / "rd-q1.npz").hex()}
    assert not any(k.startswith(store.TRANSFORMS) for k in arrays) and "param/h_a.0.weight" in arrays
    assert path.stat().st_size < (lenders / "rd-q1.npz").stat().st_size / 2

    # Filled in from the lender, the model analyses and synthesises exactly as rd-q1 does, and codes its own way.
    meta, arrays = store.read(path, lenders)
    lent = weights.read(lenders / "rd-q1.npz")[1]
    assert all(np.array_equal(arrays[k], lent[k]) for k in lent if k.startswith(store.TRANSFORMS))
    graphs = tmp_path / "graphs"
    export_onnx.export([path], graphs)
    model, twin = BaseModel(meta, arrays, graphs), registry.load("rd-q1")
    image = astronaut[:64, :96]
    latent = model.analyse(image, 1024)
    assert np.array_equal(latent, twin.analyse(image, 1024))
    data, used = model.code(latent)
    assert np.array_equal(model.uncode(data, 64, 96), used)
    (tile,) = model.tiles(64, 96, 1024)
    assert np.array_equal(model.synthesise_tile(used, tile), twin.synthesise_tile(used, tile))
    shutil.copy(path, lenders)
    assert registry._preview_of(lenders / "hp-q1.npz", meta) == (lenders / "rd-q1.preview.npz", lenders / "rd-q1.npz")

    # Other lender weights under the same name are refused, in one line that says what to do.
    lender = lenders / "rd-q1.npz"
    data = bytearray(lender.read_bytes())
    data[len(data) // 2] ^= 1
    lender.write_bytes(bytes(data))
    with pytest.raises(ModelMismatchError, match="takes its transforms from 'rd-q1' hash .* install the roicodec"):
        store.read(path, lenders)


def test_a_jointly_trained_family_ships_its_transforms_once_and_folds_each_rates_gains(
        tiny_bsds, tmp_path, keep_torch_threads, astronaut) -> None:
    import torch

    from roicodec.models import registry, store

    work = tmp_path / "hp2"
    argv = ["--data", str(tiny_bsds), "--work", str(work), *SMALL, "--hyper-channels", "4", "--init-rd",
            "--iters", "2", "--freeze", "0", "--name", "hp2"]
    assert base_hyper.main(argv) == 0
    family = base_hyper.HyperFamily(8, 6, 4, base_hyper.LAMBDAS)
    family.load_state_dict(torch.load(work / "last.ckpt", weights_only=True)["model"])
    holder = work / "hp2-q1.npz"
    meta1, own = weights.read(holder)
    assert "transforms" not in meta1 and "param/g_a.0.weight" in own
    assert meta1["gains"] == {"analysis": "g_a.6", "synthesis": "g_s.0"}
    assert {"scale_freqs", "scale_lengths", "z_freqs", "z_lengths"} <= set(own) and "scale_freq/0" not in own
    assert "command" in meta1["recipe"] and "--export-only" not in meta1["recipe"]["command"]
    graphs = tmp_path / "graphs"
    export_onnx.export([holder], graphs)
    image = astronaut[:64, :96]
    for q in range(1, 6):
        path = work / f"hp2-q{q}.npz"
        meta, stored = weights.read(path)
        if q > 1:  # the transforms are the holder's, pinned by its hash
            assert meta["transforms"] == {"model": "hp2-q1", "hash": store.digest(holder).hex()}
            assert not any(k.startswith(store.TRANSFORMS) for k in stored)
            assert path.stat().st_size < holder.stat().st_size
        meta, arrays = store.read(path)
        folded = family.export(q - 1).state_dict()
        for key in ("g_a.6.weight", "g_a.6.bias", "g_s.0.weight", "g_a.0.weight", "g_s.6.weight"):
            # The file's float16 transforms with the rate's float32 gains: the trained folded layer to float16's
            # precision, and bit for bit what the rule in roicodec.models.store says.
            assert np.allclose(arrays[f"param/{key}"], folded[key].numpy(), rtol=2e-3, atol=1e-5), (q, key)
        gain = np.asarray(stored["gain/analysis"], np.float32)
        raw = own["param/g_a.6.weight"].astype(np.float32)
        assert np.array_equal(arrays["param/g_a.6.weight"], raw * gain[:, None, None, None])
        # A borrower with its own gains decodes its own way: the holder's preview head is not for it.
        assert registry._preview_of(path, meta) == (path.with_suffix(".preview.npz"), path)
        model = BaseModel(meta, arrays, graphs)
        latent = model.analyse(image, 1024)
        data, used = model.code(latent)
        assert np.array_equal(model.uncode(data, 64, 96), used)
    # Each rate folds its own gains: the files are not one model five times.
    first, last = (store.read(work / f"hp2-q{q}.npz")[1]["param/g_a.6.weight"] for q in (1, 5))
    assert not np.allclose(first, last)

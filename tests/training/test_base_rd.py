import json

import numpy as np
import pytest

from roicodec import weights
from training import base_rd as train_rd
from training import export_onnx
from roicodec.models.base_model import BaseModel


def test_trains_resumes_and_exports_the_family(tiny_bsds, tmp_path, capsys, keep_torch_threads, astronaut) -> None:
    out = work = tmp_path / "work"  # the weights stay in the run's folder until training.export
    argv = ["--data", str(tiny_bsds), "--work", str(work), "--batch", "4", "--crop", "64",
            "--channels", "8", "--latent-channels", "6", "--eval-every", "2", "--threads", "1", "--iters", "2"]
    assert train_rd.main(argv) == 0
    log = [json.loads(line) for line in (work / "log.jsonl").read_text().splitlines()]
    assert log[-1]["iter"] == 2 and len(log[-1]["bsds_test"]) == len(train_rd.LAMBDAS)
    with pytest.raises(SystemExit):  # the checkpoint belongs to --iters 2
        train_rd.main([*argv[:-1], "4"])
    assert "--iters 2" in capsys.readouterr().err
    graphs = tmp_path / "graphs"
    export_onnx.export([out / "rd-q1.npz"], graphs)  # the tiny widths have no shipped graphs
    for q, lam in enumerate(train_rd.LAMBDAS, 1):
        meta, arrays = weights.read(out / f"rd-q{q}.npz")
        assert meta["recipe"]["lambda"] == lam and meta["recipe"]["trained_iters"] == 2
        model = BaseModel(meta, arrays, graphs)
        latent = model.analyse(astronaut[:64, :96], 1024)
        assert latent.shape == (6, 4, 6)
        assert np.array_equal(model.coder.decode(model.coder.encode(latent), (4, 6)), np.clip(
            latent, [[[o]] for o in model.coder.offsets],
            [[[o + n - 1]] for o, n in zip(model.coder.offsets, model.coder.sizes)]))


def test_a_run_starts_from_another_runs_checkpoint(tiny_bsds, tmp_path, capsys, keep_torch_threads) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    common = ["--data", str(tiny_bsds), "--batch", "4", "--crop", "64", "--channels", "8", "--latent-channels", "6",
              "--eval-every", "2", "--threads", "1", "--iters", "2"]
    assert train_rd.main([*common, "--work", str(first)]) == 0
    assert train_rd.main([*common, "--work", str(second),
                          "--init", str(first / "last.ckpt"), "--warmup", "10"]) == 0
    assert f"started from {first / 'last.ckpt'} (iteration 2)" in capsys.readouterr().out
    log = [json.loads(line) for line in (second / "log.jsonl").read_text().splitlines()]
    assert log[-1]["iter"] == 2 and log[-1]["total_iter"] == 4
    meta, _ = weights.read(second / "rd-q1.npz")
    assert meta["recipe"]["trained_iters"] == 4 and meta["recipe"]["init"] == str(first / "last.ckpt")
    with pytest.raises(SystemExit):
        train_rd.main([*common, "--work", str(tmp_path / "third"), "--init", str(tmp_path / "nowhere.ckpt")])
    assert "--init" in capsys.readouterr().err and not list((tmp_path / "third").glob("*.npz"))


def test_warm_start_maps_each_rate_to_the_nearest_trained_one() -> None:
    import torch

    torch.manual_seed(0)
    old = train_rd.GainedFamily(8, 6, (0.002, 0.008))
    with torch.no_grad():
        old.log_gain.uniform_(-1, 1)
        old.log_inv_gain.uniform_(-1, 1)
    new = train_rd.GainedFamily(8, 6, (0.001, 0.002, 0.008))
    new.warm_start(old.state_dict(), old.lambdas)
    state = old.state_dict()
    assert all(torch.equal(v, state[f"net.{k}"]) for k, v in new.net.state_dict().items())
    # The new, lower rate starts from the 0.002 one, its gains half a log-lambda step coarser; the others as trained.
    half_step = 0.5 * np.log(0.5)
    assert torch.allclose(new.log_gain[0], old.log_gain[0] + half_step)
    assert torch.allclose(new.log_inv_gain[0], old.log_inv_gain[0] - half_step)
    assert torch.equal(new.log_gain[1:], old.log_gain) and torch.equal(new.log_inv_gain[1:], old.log_inv_gain)
    x = torch.linspace(-5, 5, 11).view(1, 1, 1, -1).expand(1, 6, 1, -1).contiguous()
    assert torch.equal(new.densities[0].likelihood(x), old.densities[0].likelihood(x))
    assert torch.equal(new.densities[2].likelihood(x), old.densities[1].likelihood(x))


def test_the_step_size_warms_up_then_drops_a_decade() -> None:
    assert train_rd.lr_at(0, 100, 1.0, warmup=10) == pytest.approx(0.1)
    assert train_rd.lr_at(9, 100, 1.0, warmup=10) == 1.0
    assert train_rd.lr_at(84, 100, 1.0) == 1.0 and train_rd.lr_at(85, 100, 1.0) == pytest.approx(0.1)


def test_a_resume_keeps_the_lambdas(tiny_bsds, tmp_path, capsys, keep_torch_threads) -> None:
    common = ["--data", str(tiny_bsds), "--work", str(tmp_path / "work"), "--batch",
              "4", "--crop", "64", "--channels", "8", "--latent-channels", "6", "--threads", "1", "--iters", "2"]
    assert train_rd.main([*common, "--lambdas", "0.001", "0.01"]) == 0
    for lambdas in (["0.001", "0.02"], ["0.001", "0.002", "0.01"]):  # same shapes, then other shapes
        with pytest.raises(SystemExit):
            train_rd.main([*common, "--lambdas", *lambdas])
        assert "other --lambdas" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_rd.main([*common, "--lambdas", "0.01", "0.001"])
    assert "ascending" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "work").glob("*.npz")) == ["rd-q1.npz", "rd-q2.npz"]

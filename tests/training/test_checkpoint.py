import numpy as np
import pytest


def _saved(tmp_path, done: int, iters: int):
    import torch

    from training.checkpoint import Checkpoint

    model = torch.nn.Linear(2, 2)
    opt = torch.optim.Adam(model.parameters())
    Checkpoint(tmp_path, iters).save(model, opt, np.random.default_rng(0), done, 1.0)
    return model, opt


def test_a_run_changes_its_length_only_while_its_schedule_so_far_is_the_same(tmp_path, keep_torch_threads) -> None:
    from training.checkpoint import Checkpoint

    model, opt = _saved(tmp_path, 3, 10)
    same_until = lambda old, new: int(0.85 * min(old, new))  # noqa: E731
    with pytest.raises(ValueError, match="--iters 10"):
        Checkpoint(tmp_path, 8).resume(model, opt, np.random.default_rng(0))  # no rule: refused
    resumed = Checkpoint(tmp_path, 8, same_until)
    assert resumed.resume(model, opt, np.random.default_rng(0))["iter"] == 3
    assert resumed.retargeted == [{"from": 10, "to": 8, "at": 3}]
    resumed.save(model, opt, np.random.default_rng(0), 4, 2.0)  # the change travels with the run
    again = Checkpoint(tmp_path, 8, same_until)
    assert again.resume(model, opt, np.random.default_rng(0))["retargeted"] == [{"from": 10, "to": 8, "at": 3}]

    _saved(tmp_path, 7, 10)  # past 85 % of the shorter run: its step size would already have dropped
    with pytest.raises(ValueError, match="--iters 10"):
        Checkpoint(tmp_path, 8, same_until).resume(model, opt, np.random.default_rng(0))

"""Resumable training runs (base models and the segmenter): one file in the run's work folder holds the model, the
optimiser, both random generators and where the run stands, so a stopped run goes on exactly where it was.

``--iters`` belongs to the recipe (learning-rate schedules depend on it): a checkpoint is only resumed under the
``--iters`` it was written for, unless the trainer says up to which iteration its schedule is the same for both
(``same_until``): a run may then be lengthened or shortened before that point, since every step it took is one the
new length would have taken too. The change is kept in the checkpoint (``retargeted``) for the recipe to show.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from roicodec import atomic


class Checkpoint:
    def __init__(self, work: Path, iters: int, same_until: Callable[[int, int], int] | None = None) -> None:
        """``same_until(old, new)``: the first iteration whose step size differs between ``--iters`` old and new."""
        work.mkdir(parents=True, exist_ok=True)
        self.path = work / "last.ckpt"
        self.iters = iters
        self._same_until = same_until
        self.retargeted: list[dict[str, int]] = []

    def load(self, model: torch.nn.Module) -> dict[str, Any] | None:
        """The saved state, with ``model``'s parameters restored from it; ``None`` when there is none yet."""
        if not self.path.exists():
            return None
        state = torch.load(self.path, weights_only=True)
        self.retargeted = list(state.get("retargeted", []))
        old = state.get("iters")
        if old != self.iters:
            if self._same_until is None or old is None or state["iter"] >= self._same_until(old, self.iters):
                raise ValueError(f"{self.path} belongs to a run of --iters {old}; resume with that, "
                                 "or pick another --work to start afresh")
            self.retargeted.append({"from": old, "to": self.iters, "at": state["iter"]})
            print(f"--iters {old} -> {self.iters} at iteration {state['iter']}: the step sizes so far are the same",
                  flush=True)
        model.load_state_dict(state["model"])
        return state

    def resume(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
               rng: np.random.Generator) -> dict[str, Any] | None:
        """Restore model, optimiser and both generators; return the saved state (``iter``, ``elapsed``, extras)."""
        state = self.load(model)
        if state is not None:
            optimizer.load_state_dict(state["optimizer"])
            torch.set_rng_state(state["torch_rng"])
            rng.bit_generator.state = json.loads(state["numpy_rng"])
        return state

    def save(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer, rng: np.random.Generator, done: int,
             elapsed: float, **extra: Any) -> None:
        """Write the run's state after iteration ``done``; replaced whole, so a stop mid-write keeps the last one."""
        with atomic.replacing(self.path) as f:
            torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "iter": done,
                        "iters": self.iters, "elapsed": elapsed, "torch_rng": torch.get_rng_state(),
                        "numpy_rng": json.dumps(rng.bit_generator.state), "retargeted": self.retargeted, **extra}, f)

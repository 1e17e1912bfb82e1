"""Resumable training runs (base models and the segmenter): one file in the run's work folder holds the model, the
optimiser, both random generators and where the run stands, so a stopped run goes on exactly where it was.

``--iters`` belongs to the recipe (learning-rate schedules depend on it): a checkpoint is only resumed under the
``--iters`` it was written for.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from roicodec import atomic


class Checkpoint:
    def __init__(self, work: Path, iters: int) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self.path = work / "last.ckpt"
        self.iters = iters

    def load(self, model: torch.nn.Module) -> dict[str, Any] | None:
        """The saved state, with ``model``'s parameters restored from it; ``None`` when there is none yet."""
        if not self.path.exists():
            return None
        state = torch.load(self.path, weights_only=True)
        if state.get("iters") != self.iters:
            raise ValueError(f"{self.path} belongs to a run of --iters {state.get('iters')}; resume with that, "
                             "or pick another --work to start afresh")
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
                        "numpy_rng": json.dumps(rng.bit_generator.state), **extra}, f)

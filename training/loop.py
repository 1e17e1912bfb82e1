"""What every trainer's loop does the same way: set the step size, take an optimiser step, keep a log."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """``--seed`` and ``--threads``, which every trainer takes."""
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)


def begin_run(args: argparse.Namespace) -> np.random.Generator:
    """Seed torch and set its threads from :func:`add_run_options`; the run's NumPy generator."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    return np.random.default_rng(args.seed)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, params: Iterable[torch.nn.Parameter],
         clip: float | None = None) -> None:
    """Back-propagate ``loss`` and step, the gradient's norm clipped at ``clip`` (none when ``None``)."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if clip is not None:
        torch.nn.utils.clip_grad_norm_(params, clip)
    optimizer.step()


class Log:
    """A run's ``log.jsonl``: one JSON object a line, flushed at once, so that a stopped run keeps every entry."""

    def __init__(self, fp: IO[str]) -> None:
        self._fp = fp

    def write(self, entry: dict[str, Any]) -> None:
        self._fp.write(json.dumps(entry) + "\n")
        self._fp.flush()
        print(json.dumps(entry), flush=True)


@contextmanager
def run_log(work: Path) -> Iterator[Log]:
    """The log of the run in ``work``, appended to (a resumed run continues it) and closed however the run ends."""
    work.mkdir(parents=True, exist_ok=True)
    with (work / "log.jsonl").open("a") as fp:
        yield Log(fp)

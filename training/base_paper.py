"""Train the paper's autoencoder and build the probability tables that ship with it.

    python -m training.base_paper --data ../shared/data/bsds500 --work out/paper-ae
    python -m training.export out/paper-ae/paper-ae.npz

The recipe is the paper's: 192x256 RGB crops, 100 epochs, batch 10, Adam at lr 0.001, binary cross-entropy. The run
checkpoints after every epoch in ``--work`` and resumes from there, so a stopped session loses one epoch at most.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from roicodec.models import STRIDE
from roicodec.models.paper_ae import PaperAutoencoder
from roicodec.models.store import save_model
from training.checkpoint import Checkpoint
from training.loop import add_run_options, begin_run, run_log, step
from training.photos import load_photos, random_crops

CROP = (192, 256)


def _frequency_tables(model: PaperAutoencoder, images: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Histogram of every latent channel over the full-size training images, +1 smoothing over the observed support.

    Integer counts, not floats, ship with the weights so that every machine derives the same coding tables.
    """
    symbols: list[list[np.ndarray]] = [[] for _ in range(model.latent_channels)]
    with torch.no_grad():
        for img in images:
            h, w = img.shape[:2]
            ph, pw = -h % STRIDE, -w % STRIDE
            padded = np.pad(img, ((0, ph), (0, pw), (0, 0)), mode="edge")
            x = torch.from_numpy(padded).permute(2, 0, 1)[None].float().div_(255.0)
            y = torch.round(model.g_a(x))[0].numpy().astype(np.int64)
            for c in range(model.latent_channels):
                symbols[c].append(y[c].ravel())
    offsets, freqs = [], []
    for c in range(model.latent_channels):
        s = np.concatenate(symbols[c])
        # A margin beyond the training support keeps rare larger values codable rather than clamped.
        lo, hi = int(s.min()) - 2, int(s.max()) + 2
        counts = np.bincount(s - lo, minlength=hi - lo + 1).astype(np.uint32) + 1
        offsets.append(lo)
        freqs.append(counts)
    return np.asarray(offsets, np.int32), freqs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m training.base_paper", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/bsds500"))
    parser.add_argument("--work", type=Path, default=Path("out/paper-ae"), help="checkpoint, log and the weights")
    parser.add_argument("--name", default="paper-ae")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--lr", type=float, default=1e-3)
    add_run_options(parser)
    args = parser.parse_args(argv)

    rng = begin_run(args)
    images = load_photos(args.data)
    model = PaperAutoencoder()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = torch.nn.BCELoss()
    checkpoint = Checkpoint(args.work, args.epochs)
    try:
        state = checkpoint.resume(model, opt, rng)
    except ValueError as exc:
        parser.error(str(exc))
    start, elapsed = (state["iter"], state["elapsed"]) if state is not None else (0, 0.0)
    if state is not None:
        print(f"resuming after epoch {start}", flush=True)

    tic = time.monotonic() - elapsed
    with run_log(args.work) as log:
        for epoch in range(start, args.epochs):
            batch = random_crops(images, *CROP, rng)
            order = torch.randperm(len(batch))
            total = 0.0
            model.train()
            for i in range(0, len(batch), args.batch):
                x = batch[order[i:i + args.batch]]
                loss = loss_fn(model(x), x)
                step(opt, loss, model.parameters())
                total += loss.item() * len(x)
            log.write({"epoch": epoch + 1, "bce": round(total / len(batch), 6),
                       "minutes": round((time.monotonic() - tic) / 60, 2)})
            checkpoint.save(model, opt, rng, epoch + 1, time.monotonic() - tic)

    model.eval()
    offsets, freqs = _frequency_tables(model, images)
    recipe = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "work"}
    recipe.update(crop=list(CROP), loss="binary cross-entropy", optimiser="Adam",
                  quantisation_proxy="additive uniform noise U(-0.5, 0.5)", images=len(images),
                  splits=["train", "val"], torch=torch.__version__,
                  train_minutes=round((time.monotonic() - tic) / 60, 1))
    path = save_model(args.work / f"{args.name}.npz", args.name, model, offsets, freqs, recipe)
    print(json.dumps({"weights": str(path), "recipe": recipe, "export": f"python -m training.export {path}"},
                     indent=1))


if __name__ == "__main__":
    main()

"""Train the paper's autoencoder and build the probability tables that ship with it.

    python -m roicodec.models.train --data ../shared/data/bsds500 --out src/roicodec/models/weights

The recipe is the paper's: 192x256 RGB crops, 100 epochs, batch 10, Adam at lr 0.001, binary cross-entropy. The run
checkpoints after every epoch next to its output and resumes from there, so a stopped session loses one epoch at most.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from roicodec.models.paper_ae import STRIDE, PaperAutoencoder
from roicodec.models.store import save_model

CROP = (192, 256)


def _load_images(data: Path) -> list[np.ndarray]:
    """BSDS500 train + val as uint8 HxWx3, portrait images turned to landscape so every one yields a 192x256 crop."""
    images = []
    for split in ("train", "val"):
        for path in sorted((data / split).glob("*.jpg")):
            arr = np.asarray(Image.open(path).convert("RGB"))
            if arr.shape[0] > arr.shape[1]:
                arr = np.ascontiguousarray(arr.transpose(1, 0, 2))
            images.append(arr)
    if not images:
        raise SystemExit(f"no training images under {data}/{{train,val}}: pass --data pointing at bsds500")
    return images


def _crops(images: list[np.ndarray], rng: np.random.Generator) -> torch.Tensor:
    h, w = CROP
    out = np.empty((len(images), h, w, 3), np.uint8)
    for i, img in enumerate(images):
        y = rng.integers(0, img.shape[0] - h + 1)
        x = rng.integers(0, img.shape[1] - w + 1)
        crop = img[y:y + h, x:x + w]
        out[i] = crop[:, ::-1] if rng.random() < 0.5 else crop
    return torch.from_numpy(out).permute(0, 3, 1, 2).float().div_(255.0)


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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/bsds500"))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "weights")
    parser.add_argument("--name", default="paper-ae")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    images = _load_images(args.data)
    model = PaperAutoencoder()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = torch.nn.BCELoss()
    ckpt = args.out / f"{args.name}.ckpt"
    start = 0
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        torch.set_rng_state(state["torch_rng"])
        rng.bit_generator.state = state["np_rng"]
        start = state["epoch"]
        print(f"resuming after epoch {start}", flush=True)

    for epoch in range(start, args.epochs):
        t0 = time.perf_counter()
        batch = _crops(images, rng)
        order = torch.randperm(len(batch))
        total = 0.0
        model.train()
        for i in range(0, len(batch), args.batch):
            x = batch[order[i:i + args.batch]]
            loss = loss_fn(model(x), x)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(x)
        print(f"epoch {epoch + 1}/{args.epochs} bce {total / len(batch):.5f} {time.perf_counter() - t0:.1f}s",
              flush=True)
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": epoch + 1,
                    "torch_rng": torch.get_rng_state(), "np_rng": rng.bit_generator.state}, ckpt)

    model.eval()
    offsets, freqs = _frequency_tables(model, images)
    recipe = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "out"}
    recipe.update(crop=list(CROP), loss="binary cross-entropy", optimiser="Adam",
                  quantisation_proxy="additive uniform noise U(-0.5, 0.5)", images=len(images),
                  splits=["train", "val"], torch=torch.__version__)
    path = save_model(args.out / f"{args.name}.npz", args.name, model, offsets, freqs, recipe)
    print(json.dumps({"weights": str(path), "recipe": recipe}, indent=1))


if __name__ == "__main__":
    main()

"""Train the embedded segmenter on CamVid train and choose the checkpoint on CamVid val.

    python -m training.segmenter --data ../shared/data/camvid --work out/segment-train
    python -m training.export out/segment-train/swin-pico-camvid.npz

The model is built from the package config through mmseg's registry; the loop is plain PyTorch because it needs no
more than a forward, a loss and a step. Random crops of rescaled frames (scale 0.5-1.5, horizontal flips, colour
jitter), class-weighted cross-entropy (1/ln(1.10 + p): ENet's weights made milder, because with ENet's 1.02 the model
called buildings cars to win the rare class),
AdamW with linear warm-up and a poly decay. Every ``--eval-every`` iterations the model is scored on val at full
resolution; the best one so far is written to ``--work``. ``last.ckpt`` there lets a stopped run resume where it
was.
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from roicodec.segment.build import build_model, load_config
from roicodec.segment.metrics import class_iou, confusion
from roicodec.segment.sources import EMBEDDED
from roicodec.segment.store import save_weights
from training.camvid import CLASSES, IGNORE, load_split
from training.checkpoint import Checkpoint
from training.loop import add_run_options, begin_run, run_log, set_lr, step

PACKAGE = Path(str(resources.files("roicodec.segment")))
DEFAULT_CONFIG = PACKAGE / "configs" / "swin-pico_segformerhead_camvid.py"


def class_weights(labels: list[np.ndarray], num_classes: int) -> torch.Tensor:
    counts = np.zeros(num_classes, np.float64)
    for label in labels:
        counts += np.bincount(label[label < num_classes], minlength=num_classes)[:num_classes]
    return torch.tensor(1.0 / np.log(1.10 + counts / counts.sum()), dtype=torch.float32)


def normalise(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """uint8 NxHxWx3 RGB to the float NCHW the model was trained on."""
    return (images.permute(0, 3, 1, 2).float() - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)


def random_crop(image: np.ndarray, label: np.ndarray, crop: int, rng: np.random.Generator) -> tuple[torch.Tensor,
                                                                                                   torch.Tensor]:
    """A ``crop`` x ``crop`` sample of the frame at a random scale in [0.5, 1.5], flipped half the time."""
    scale = rng.uniform(0.5, 1.5)
    side = round(crop / scale)
    h, w = label.shape
    ph, pw = max(side - h, 0), max(side - w, 0)
    img = torch.from_numpy(image).permute(2, 0, 1).float()
    lab = torch.from_numpy(label.astype(np.int64))
    if ph or pw:
        img = F.pad(img, (0, pw, 0, ph))
        lab = F.pad(lab, (0, pw, 0, ph), value=IGNORE)
    y = int(rng.integers(0, img.shape[1] - side + 1))
    x = int(rng.integers(0, img.shape[2] - side + 1))
    img = F.interpolate(img[None, :, y:y + side, x:x + side], size=(crop, crop), mode="bilinear",
                        align_corners=False)[0]
    lab = F.interpolate(lab[None, None, y:y + side, x:x + side].float(), size=(crop, crop), mode="nearest")[0, 0].long()
    if rng.random() < 0.5:
        img, lab = img.flip(-1), lab.flip(-1)
    # Colour jitter: brightness, contrast and saturation, each by up to 20 %.
    b, c, s = rng.uniform(0.8, 1.2, 3)
    gray = img.mean(0, keepdim=True)
    img = (img - gray) * s + gray
    img = (img - img.mean()) * c + img.mean() * b
    return img.clamp(0, 255).permute(1, 2, 0), lab


def predict(model: torch.nn.Module, image: torch.Tensor) -> torch.Tensor:
    """Logits at the input's size for a normalised 1x3xHxW batch."""
    logits = model.decode_head(model.extract_feat(image))
    return F.interpolate(logits, size=image.shape[-2:], mode="bilinear", align_corners=False)


@torch.no_grad()
def evaluate(model: torch.nn.Module, images: list[np.ndarray], labels: list[np.ndarray], mean: torch.Tensor,
             std: torch.Tensor, num_classes: int) -> np.ndarray:
    model.eval()
    matrix = np.zeros((num_classes, num_classes), np.int64)
    for image, label in zip(images, labels):
        pred = predict(model, normalise(torch.from_numpy(image)[None], mean, std)).argmax(1)[0].numpy()
        matrix += confusion(pred, label, num_classes)
    model.train()
    return class_iou(matrix)


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    # As in mmseg's Swin recipes: no decay on norms, biases and relative-position tables.
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim <= 1 or "relative_position_bias_table" in name else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def lr_at(it: int, iters: int, lr: float, warmup: int) -> float:
    if it < warmup:
        return lr * (0.1 + 0.9 * it / warmup)
    return lr * (1 - (it - warmup) / max(iters - warmup, 1)) ** 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.segmenter", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True,
                        help="CamVid folder with train/, trainannot/, val/, valannot/")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--work", type=Path, default=Path("out/segment-train"),
                        help="checkpoints, log and the best model's weights")
    parser.add_argument("--name", default=EMBEDDED, help="the weight file's name (in --work)")
    parser.add_argument("--iters", type=int, default=4000)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--eval-every", type=int, default=250)
    add_run_options(parser)
    args = parser.parse_args(argv)

    rng = begin_run(args)
    cfg = load_config(args.config)
    num_classes = cfg.num_classes
    mean = torch.tensor(cfg.data_preprocessor["mean"])
    std = torch.tensor(cfg.data_preprocessor["std"])
    model = build_model(cfg)
    model.train()
    train_images, train_labels = load_split(args.data, "train")
    val_images, val_labels = load_split(args.data, "val")
    weights = class_weights(train_labels, num_classes)
    optimizer = torch.optim.AdamW(param_groups(model, args.weight_decay), lr=args.lr, betas=(0.9, 0.999))

    checkpoint = Checkpoint(args.work, args.iters)
    start, best, elapsed = 0, -1.0, 0.0
    try:
        state = checkpoint.resume(model, optimizer, rng)
    except ValueError as exc:
        parser.error(str(exc))
    if state is not None:
        start, best, elapsed = state["iter"], state["best"], state["elapsed"]
        print(f"resumed at iteration {start}, best val mIoU {best:.4f}", flush=True)

    out = args.work / f"{args.name}.npz"
    recipe = {"command": " ".join(["python -m training.segmenter", *(argv if argv is not None else sys.argv[1:])]),
              "config": args.config.name, "data": str(args.data), "seed": args.seed, "iters": args.iters,
              "batch": args.batch, "crop": args.crop, "lr": args.lr, "weight_decay": args.weight_decay,
              "warmup": args.warmup, "threads": args.threads, "class_weights": [round(float(w), 4) for w in weights]}
    tic = time.monotonic() - elapsed
    with run_log(args.work) as log:
        for it in range(start, args.iters):
            set_lr(optimizer, lr_at(it, args.iters, args.lr, args.warmup))
            batch = [random_crop(train_images[i], train_labels[i], args.crop, rng)
                     for i in rng.integers(0, len(train_images), args.batch)]
            images = normalise(torch.stack([b[0] for b in batch]), mean, std)
            targets = torch.stack([b[1] for b in batch])
            loss = F.cross_entropy(predict(model, images), targets, weight=weights, ignore_index=IGNORE)
            step(optimizer, loss, model.parameters(), clip=5.0)
            done = it + 1
            if done % 20 == 0:
                print(f"iter {done} loss {loss.item():.4f} lr {optimizer.param_groups[0]['lr']:.2e} "
                      f"{(time.monotonic() - tic) / 60:.1f} min", flush=True)
            if done % args.eval_every == 0 or done == args.iters:
                iou = evaluate(model, val_images, val_labels, mean, std, num_classes)
                miou = float(np.nanmean(iou))
                minutes = (time.monotonic() - tic) / 60
                entry = {"iter": done, "minutes": round(minutes, 2), "loss": round(loss.item(), 4), "val_miou": miou,
                         "val_iou": dict(zip(CLASSES, map(float, iou)))}
                log.write(entry)
                if miou > best:
                    best = miou
                    meta = {"name": args.name, "config": args.config.name, "classes": list(CLASSES),
                            "recipe": recipe, "chosen_at_iter": done, "val_miou": miou,
                            "val_iou": entry["val_iou"], "train_minutes": round(minutes, 2)}
                    save_weights(out, model.state_dict(), meta)
                checkpoint.save(model, optimizer, rng, done, time.monotonic() - tic, best=best)
    print(f"done: best val mIoU {best:.4f} in {out}, {(time.monotonic() - tic) / 60:.1f} min "
          f"(into the package: python -m training.export {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

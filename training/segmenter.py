"""Train an embedded segmenter: CamVid street scenes, ECSSD salient objects or DSB2018 nuclei.

    python -m training.segmenter --dataset ecssd  --work out/seg-ecssd   # then: python -m training.export ...
    python -m training.segmenter --dataset nuclei --work out/seg-nuclei
    python -m training.segmenter --dataset camvid --work out/seg-camvid

The model is built from the package config through mmseg's registry; the loop is plain PyTorch because it needs no
more than a forward, a loss and a step. Each dataset module (``training/camvid.py``, ``ecssd.py``, ``nuclei.py``)
gives its split (``training/splits/``), its augmentation and its defaults. Cross-entropy (class-weighted for CamVid)
plus, for the binary models, a soft Dice term on the foreground; AdamW with linear warm-up and a poly decay.

Every ``--eval-every`` iterations the model is scored on the *selection* split, every evaluation goes to
``log.jsonl`` in ``--work``, and the best so far is written there as ``NAME.npz``; ``last.ckpt`` lets a stopped
run resume where it was. When the last iteration is done, the chosen weights are scored once on the *report* sets,
which chose nothing, through the ``--roi auto`` path: ``report.json``. With ``--average-from`` (stochastic weight
averaging, Izmailov et al. 2018) the step size holds from that iteration on, a snapshot of the weights goes into a
running mean every ``--average-every`` iterations, and each evaluation scores (and may keep) that mean, its batch-norm
statistics measured afresh on training samples; the last iterate's score is logged beside it. A binary model first gets its decision (threshold, and
whether to average with the mirror image) on the selection split (:func:`choose_decision`). ``python -m training.segmenter_cards --work
DIR`` then commits the log and the report in docs/results/segmenters/ and writes the model card from them.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from roicodec import atomic, digest, weights
from roicodec.segment.build import build_model, load_config
from roicodec.segment.checkpoints import read_checkpoint
from roicodec.segment.grabcut import REFINEMENT, cut, describe
from roicodec.segment.metrics import class_iou, confusion
from roicodec.segment.segmenter import load_segmenter
from roicodec.segment.sources import ALIASES, EMBEDDED_MODELS, weights_path
from roicodec.segment.store import save_weights
from training.checkpoint import Checkpoint
from training.evaluate_segmenter import DATASETS, dataset_module, overlap, report, report_sets
from training.loop import add_run_options, begin_run, run_log, set_lr, step
from training.segdata import IGNORE, Dataset
from training.splits import DEFAULT_DATA, file_for

DEFAULTS: dict[str, dict[str, Any]] = {
    "camvid": {"iters": 2400, "eval_every": 200, "dice": 0.0},
    "ecssd": {"iters": 3000, "eval_every": 250, "dice": 1.0},
    "nuclei": {"iters": 3000, "eval_every": 250, "dice": 1.0},
}
"""Per dataset, what the options default to (the recipes the cards give)."""


def class_weights(labels: list[np.ndarray], num_classes: int) -> torch.Tensor:
    counts = np.zeros(num_classes, np.float64)
    for label in labels:
        counts += np.bincount(label[label < num_classes], minlength=num_classes)[:num_classes]
    return torch.tensor(1.0 / np.log(1.10 + counts / counts.sum()), dtype=torch.float32)


def normalise(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """NxHxWx3 RGB in 0..255 to the float NCHW the model was trained on."""
    return (images.permute(0, 3, 1, 2).float() - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)


def predict(model: torch.nn.Module, image: torch.Tensor) -> torch.Tensor:
    """Logits at the input's size for a normalised NCHW batch."""
    logits = model.decode_head(model.extract_feat(image))
    return F.interpolate(logits, size=image.shape[-2:], mode="bilinear", align_corners=False)


def dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - soft Dice of the foreground (class 1), ignored pixels left out: it rewards overlap, as IoU does."""
    valid = target != IGNORE
    p = logits.softmax(1)[:, 1] * valid
    fg = ((target == 1) & valid).float()
    return 1 - (2 * (p * fg).sum() + 1) / (p.sum() + fg.sum() + 1)


@torch.no_grad()
def evaluate(model: torch.nn.Module, pairs: list[tuple[np.ndarray, np.ndarray]], mean: torch.Tensor,
             std: torch.Tensor, classes: tuple[str, ...]) -> dict[str, Any]:
    """The selection figures: ``score`` is what chooses (mIoU for CamVid, mean per-image foreground IoU else)."""
    model.eval()
    num = len(classes)
    matrix = np.zeros((num, num), np.int64)
    per_image = []
    for image, label in pairs:
        pred = predict(model, normalise(torch.from_numpy(image)[None], mean, std)).argmax(1)[0].numpy()
        if num == 2:
            keep = label != IGNORE
            inter, union = overlap((pred == 1) & keep, (label == 1) & keep)
            per_image.append(inter / union if union else 1.0)
        else:
            matrix += confusion(pred, label, num)
    model.train()
    if num == 2:
        return {"score": round(float(np.mean(per_image)), 4)}
    iou = class_iou(matrix)
    return {"score": round(float(np.nanmean(iou)), 4),
            "iou": {c: None if np.isnan(v) else round(float(v), 4) for c, v in zip(classes, iou)}}


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    # As in mmseg's Swin recipes: no decay on norms, biases and position tables (relative and absolute).
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        position = "relative_position_bias_table" in name or "absolute_pos_embed" in name
        (no_decay if p.ndim <= 1 or position else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def lr_at(it: int, iters: int, lr: float, warmup: int, hold_from: int | None = None) -> float:
    """Linear warm-up, then a poly decay; with ``hold_from`` the step size stays at its value there from then on,
    as weight averaging wants (Izmailov et al. 2018: a constant step keeps the iterates exploring around the
    minimum, and their mean lands nearer its centre than any one of them)."""
    if hold_from is not None:
        it = min(it, hold_from)
    if it < warmup:
        return lr * (0.1 + 0.9 * it / warmup)
    return lr * (1 - (it - warmup) / max(iters - warmup, 1)) ** 1.0


def warm_start(model: torch.nn.Module, init: str) -> dict[str, Any]:
    """Copy from ``init`` (an embedded model's name or a weight file) every tensor whose name and shape match."""
    name = ALIASES.get(init, init)
    path = weights_path(name) if name in EMBEDDED_MODELS else Path(init)
    _, source = read_checkpoint(path)
    own = model.state_dict()
    taken = {k: v for k, v in source.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(taken, strict=False)
    return {"from": init, "sha256": digest.sha256(path).hex()[:16], "tensors": len(taken), "of": len(own)}


def accumulate(average: dict[str, torch.Tensor] | None, model: torch.nn.Module, count: int
               ) -> dict[str, torch.Tensor]:
    """The running mean of ``model``'s parameters after ``count`` earlier snapshots went into ``average``."""
    if average is None:
        return {k: p.detach().clone() for k, p in model.named_parameters()}
    for k, p in model.named_parameters():
        average[k] += (p.detach() - average[k]) / (count + 1)
    return average


@torch.no_grad()
def averaged_model(model: torch.nn.Module, average: dict[str, torch.Tensor], dataset: Dataset, crop: int,
                   mean: torch.Tensor, std: torch.Tensor, batches: int, seed: int) -> torch.nn.Module:
    """A copy of ``model`` with the averaged parameters, its batch-norm statistics measured afresh on training
    samples: the running statistics of any one iterate do not fit the mean of many (as ``torch.optim.swa_utils
    .update_bn``). Its own generator, so that scoring leaves the run's sample stream as it was."""
    twin = copy.deepcopy(model)
    twin.load_state_dict(average, strict=False)
    norms = {m: m.momentum for m in twin.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)}
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a plain mean over every batch
    rng = np.random.default_rng(seed)
    twin.train()
    for _ in range(batches if norms else 0):
        batch = [dataset.sample(*dataset.train[i], crop, rng) for i in rng.integers(0, len(dataset.train), 8)]
        predict(twin, normalise(torch.stack([b[0] for b in batch]), mean, std))
    for m, momentum in norms.items():
        m.momentum = momentum
    twin.eval()
    return twin


THRESHOLDS = tuple(round(0.3 + 0.05 * i, 2) for i in range(13))
"""The decision thresholds a binary model's run tries on its selection split, 0.3 to 0.9."""


def _mean_iou(found: list[tuple[np.ndarray, np.ndarray]], threshold: float) -> float:
    """Mean foreground IoU per image of probability maps thresholded at ``threshold`` against their labels."""
    per_image = []
    for p, label in found:
        keep = label != IGNORE
        inter, union = overlap((p >= threshold) & keep, (label == 1) & keep)
        per_image.append(inter / union if union else 1.0)
    return round(float(np.mean(per_image)), 4)


def choose_decision(dataset: Dataset, out: Path) -> dict[str, Any] | None:
    """For a binary model, how inference decides, chosen on the selection split through the ``--roi auto`` path:
    whether each window's logits are averaged with its mirror image's (``mirror``), and the probability of class 1
    from which a pixel is labelled 1 (``threshold``) that give the best mean IoU, with every score tried; stored in
    the chosen weights' meta, once. Trained with a Dice term, the models lean to their foreground: on the nuclei
    model's selection split 0.7 scored 0.863 against 0.847 for the likelier class. Ties go to no mirror (half the
    cost) and to the threshold nearer 0.5."""
    if len(dataset.classes) != 2:
        return None
    meta, arrays = weights.read(out)
    if "threshold" in meta and "mirror" in meta:
        return {"threshold": float(meta["threshold"]), "mirror": bool(meta["mirror"])}
    load_segmenter.cache_clear()
    segmenter = load_segmenter(dataset.name, str(out))
    scores: dict[bool, dict[float, float]] = {}
    for mirror in (False, True):
        segmenter.mirror = mirror
        found = []
        for image, label in dataset.selection:
            result = segmenter(image)
            found.append((np.where(result.labels == 1, result.confidence, 1 - result.confidence), label))
        scores[mirror] = {t: _mean_iou(found, t) for t in THRESHOLDS}
    mirror, best = max(((m, t) for m in (False, True) for t in THRESHOLDS),
                       key=lambda mt: (scores[mt[0]][mt[1]], not mt[0], -abs(mt[1] - 0.5)))
    meta = dict(meta, threshold=best, mirror=mirror,
                threshold_selection={f"{t:.2f}": v for t, v in scores[mirror].items()},
                mirror_selection={"off": max(scores[False].values()), "on": max(scores[True].values())})
    weights.write(out, arrays, meta, compressed=True)
    load_segmenter.cache_clear()
    print(f"threshold {best}, mirror {'on' if mirror else 'off'} (selection mean IoU {scores[mirror][best]:.4f}; "
          f"0.5 without mirror gives {scores[False][0.5]:.4f})", flush=True)
    return {"threshold": best, "mirror": mirror}


REFINEMENTS = tuple({"method": REFINEMENT, "side": 320, "iterations": it, "sure": sure}
                    for it in (1, 2, 3) for sure in (0.05, 0.1, 0.2))
"""The GrabCut settings :func:`choose_refinement` tries. The side is fixed, not chosen: 320 px keeps the cut near
0.1 s whatever the photograph (docs/segment.md gives the speed)."""


def choose_refinement(dataset: Dataset, out: Path) -> dict[str, Any] | None:
    """For a binary model whose decision is made, whether its foreground follows the image's edges
    (:func:`roicodec.segment.grabcut.follow_edges`) and with which of :data:`REFINEMENTS`: the one with the best mean
    IoU on the selection split, through the ``--roi auto`` path, or none where none beats the decision as it is (ties
    go to none, then to fewer iterations). Stored in the weights' meta once, with every score tried
    (``refine_selection``); ``refine`` is ``None`` where none was chosen."""
    if len(dataset.classes) != 2:
        return None
    meta, arrays = weights.read(out)
    if "refine" in meta:
        return meta["refine"]
    if "threshold" not in meta:
        raise ValueError(f"{out} has no decision threshold yet: choose_decision first")
    load_segmenter.cache_clear()
    segmenter = load_segmenter(dataset.name, str(out))
    found = []
    for image, label in dataset.selection_originals or dataset.selection:
        result = segmenter(image)
        found.append((image, np.where(result.labels == 1, result.confidence, 1 - result.confidence), label))
    threshold = float(meta["threshold"])

    def score(settings: dict[str, Any] | None) -> float:
        per_image = []
        for image, p, label in found:
            keep = label != IGNORE
            mask = p >= threshold if settings is None else cut(image, p, threshold, settings)
            inter, union = overlap(mask & keep, (label == 1) & keep)
            per_image.append(inter / union if union else 1.0)
        return round(float(np.mean(per_image)), 4)

    scores = [(None, score(None))] + [(s, score(s)) for s in REFINEMENTS]
    chosen, best = max(scores, key=lambda sv: (sv[1], sv[0] is None, -(sv[0] or {}).get("iterations", 0)))
    meta = dict(meta, refine=chosen, refine_selection=[{"refine": s, "score": v} for s, v in scores])
    weights.write(out, arrays, meta, compressed=True)
    load_segmenter.cache_clear()
    print(f"refinement: {'none' if chosen is None else describe(chosen)} (selection mean IoU {best:.4f}; "
          f"{scores[0][1]:.4f} without)", flush=True)
    return chosen


def fix_decision(out: Path, threshold: float, mirror: bool) -> None:
    """Store a decision given beforehand (``--fold-selection`` trained on the split that would have chosen it)."""
    meta, arrays = weights.read(out)
    if "threshold" not in meta:
        # No refinement either: the split that would choose one was trained on.
        weights.write(out, arrays, dict(meta, threshold=threshold, mirror=mirror, refine=None,
                                        decision="fixed beforehand"), compressed=True)
        load_segmenter.cache_clear()


def finish(dataset: Dataset, data: Path, out: Path, work: Path, argv: list[str],
           program: str = "python -m training.segmenter") -> Path:
    """Score the chosen weights on the report sets, once: ``report.json`` (kept when it is of these weights)."""
    path = work / "report.json"
    sha = digest.sha256(out).hex()[:16]
    if path.exists() and json.loads(path.read_text()).get("weights_sha256") == sha:
        return path
    result = report(dataset.dataset, report_sets(dataset.dataset, data), dataset.name, str(out))
    result["split"] = "report"
    result["command"] = " ".join([program, *argv]) + " (at its end)"
    atomic.write_bytes(path, (json.dumps(result, indent=1) + "\n").encode())
    print(json.dumps(result), flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m training.segmenter", description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=DATASETS, required=True)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder")
    parser.add_argument("--config", type=Path, help="default: the package config of the dataset's model")
    parser.add_argument("--work", type=Path, help="checkpoints, log, report and the chosen weights "
                        "(default: out/seg-DATASET)")
    parser.add_argument("--name", help="the weight file's name (default: the dataset's embedded model)")
    parser.add_argument("--init", help="start from these weights (a model name or .npz; tensors matched by name and "
                        "shape), 'none' for random (default: the dataset's, swin-pico-camvid for ecssd)")
    parser.add_argument("--iters", type=int)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--eval-every", type=int)
    parser.add_argument("--paste", type=float, default=0.0,
                        help="ecssd: the share of training samples whose subject is laid over another photograph "
                             "(training.ecssd.Pasting)")
    parser.add_argument("--dice", type=float, help="weight of the soft Dice term (default: 1 for binary models)")
    parser.add_argument("--average-from", type=int, help="from this iteration on, hold the step size and score "
                        "(and keep) the running mean of the weights, snapshot every --average-every iterations "
                        "(stochastic weight averaging), not the last iterate")
    parser.add_argument("--average-every", type=int, default=25)
    parser.add_argument("--norm-batches", type=int, default=40,
                        help="training batches that measure the averaged model's batch-norm statistics")
    parser.add_argument("--fold-selection", action="store_true",
                        help="train on the selection split too (more data, nothing left to choose with): the last "
                        "evaluation's weights are kept and a binary model's decision is --threshold and --mirror, "
                        "fixed beforehand; the report split still chooses nothing")
    parser.add_argument("--threshold", type=float, help="with --fold-selection: a binary model's decision threshold")
    parser.add_argument("--mirror", choices=("on", "off"), help="with --fold-selection: average with the mirror image")
    add_run_options(parser)
    args = parser.parse_args(argv)
    if args.fold_selection != (args.threshold is not None and args.mirror is not None):
        parser.error("--fold-selection leaves no split to choose the decision on: give it --threshold and --mirror "
                     "(and give those only with it)")
    for key, value in DEFAULTS[args.dataset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    work = args.work or Path("out") / f"seg-{args.dataset}"

    rng = begin_run(args)
    if args.paste and args.dataset != "ecssd":
        parser.error("--paste lays salient subjects over other photographs: it is for --dataset ecssd")
    module = dataset_module(args.dataset)
    dataset = module.load(args.data, paste=args.paste) if args.paste else module.load(args.data)
    if args.fold_selection:
        # The selection pairs are already squared to the working scale: a whole view of one is enlarged by at most
        # 1/0.8, where a training photograph's is reduced; the few pixels it lacks cost less than 60 photographs.
        dataset.train = dataset.train + dataset.selection
    config = args.config or dataset.config
    name = args.name or dataset.name
    square = EMBEDDED_MODELS[name].square if name in EMBEDDED_MODELS else None
    if square is not None and args.crop != square:
        parser.error(f"{name} runs every image at {square}x{square} (its position embedding has that size): "
                     f"train it with --crop {square}")
    cfg = load_config(config)
    mean = torch.tensor(cfg.data_preprocessor["mean"])
    std = torch.tensor(cfg.data_preprocessor["std"])
    model = build_model(cfg)
    model.train()
    init = args.init if args.init is not None else dataset.init
    started_from = warm_start(model, init) if init and init != "none" else None
    weights = class_weights([label for _, label in dataset.train], len(dataset.classes)) if dataset.class_weights \
        else None
    optimizer = torch.optim.AdamW(param_groups(model, args.weight_decay), lr=args.lr, betas=(0.9, 0.999))

    checkpoint = Checkpoint(work, args.iters)
    start, best, elapsed = 0, -1.0, 0.0
    average: dict[str, torch.Tensor] | None = None
    try:
        state = checkpoint.resume(model, optimizer, rng)
    except ValueError as exc:
        parser.error(str(exc))
    if state is not None:
        start, best, elapsed = state["iter"], state["best"], state["elapsed"]
        average = state.get("average")
        print(f"resumed at iteration {start}, best selection score {best:.4f}", flush=True)

    out = work / f"{name}.npz"
    recipe = {"command": " ".join(["python -m training.segmenter", *argv]), "dataset": args.dataset,
              "config": config.name, "data": str(args.data), "seed": args.seed, "iters": args.iters,
              "batch": args.batch, "crop": args.crop, "lr": args.lr, "weight_decay": args.weight_decay,
              "warmup": args.warmup, "eval_every": args.eval_every, "dice": args.dice, "paste": args.paste, "threads": args.threads,
              "average_from": args.average_from, "average_every": args.average_every,
              "norm_batches": args.norm_batches,
              "init": started_from, "split_file": f"training/splits/{file_for(args.dataset).name}",
              "split_counts": {"train": len(dataset.train), "selection": len(dataset.selection)},
              "fold_selection": args.fold_selection,
              "class_weights": None if weights is None else [round(float(w), 4) for w in weights],
              "torch": torch.__version__}
    tic = time.monotonic() - elapsed
    with run_log(work) as log:
        for it in range(start, args.iters):
            set_lr(optimizer, lr_at(it, args.iters, args.lr, args.warmup, args.average_from))
            batch = [dataset.sample(*dataset.train[i], args.crop, rng)
                     for i in rng.integers(0, len(dataset.train), args.batch)]
            images = normalise(torch.stack([b[0] for b in batch]), mean, std)
            targets = torch.stack([b[1] for b in batch])
            logits = predict(model, images)
            loss = F.cross_entropy(logits, targets, weight=weights, ignore_index=IGNORE)
            if args.dice:
                loss = loss + args.dice * dice_loss(logits, targets)
            step(optimizer, loss, model.parameters(), clip=5.0)
            done = it + 1
            since = None if args.average_from is None else done - args.average_from
            if since is not None and since >= 0 and since % args.average_every == 0:
                average = accumulate(average, model, since // args.average_every)
            if done % 20 == 0:
                print(f"iter {done} loss {loss.item():.4f} lr {optimizer.param_groups[0]['lr']:.2e} "
                      f"{(time.monotonic() - tic) / 60:.1f} min", flush=True)
            if done % args.eval_every == 0 or done == args.iters:
                figures = evaluate(model, dataset.selection, mean, std, dataset.classes)
                scored, averaging, last_iterate = model, {}, {}
                if average is not None:
                    scored = averaged_model(model, average, dataset, args.crop, mean, std, args.norm_batches, done)
                    snapshots = (done - args.average_from) // args.average_every + 1
                    averaging = {"averaged": {"snapshots": snapshots, "from_iter": args.average_from, "to_iter": done}}
                    last_iterate = {"selection_last_iterate": figures}
                    figures = evaluate(scored, dataset.selection, mean, std, dataset.classes)
                minutes = (time.monotonic() - tic) / 60
                log.write({"iter": done, "minutes": round(minutes, 2), "loss": round(loss.item(), 4),
                           "lr": optimizer.param_groups[0]["lr"], "selection": figures, **last_iterate, **averaging})
                # Folded in, the selection split is training data: its score is logged, and chooses nothing.
                if figures["score"] > best or args.fold_selection:
                    best = figures["score"]
                    meta = {"name": name, "config": config.name, "classes": list(dataset.classes), "recipe": recipe,
                            "chosen_at_iter": done, "selection": figures, "train_minutes": round(minutes, 2),
                            **averaging}
                    save_weights(out, scored.state_dict(), meta)
                checkpoint.save(model, optimizer, rng, done, time.monotonic() - tic, best=best, average=average)
    kept = "the last weights (selection folded into train)" if args.fold_selection else \
        f"best selection score {best:.4f}"
    print(f"done: {kept} in {out}, {(time.monotonic() - tic) / 60:.1f} min", flush=True)
    if args.fold_selection and len(dataset.classes) == 2:
        fix_decision(out, args.threshold, args.mirror == "on")
    choose_decision(dataset, out)
    choose_refinement(dataset, out)
    path = finish(dataset, args.data, out, work, argv)
    print(f"report: {path}; into the package: python -m training.export {out}, then python -m "
          f"training.segmenter_cards --work {work}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

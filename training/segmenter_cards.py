"""Write an embedded segmenter's model card from committed files: its training log, its report and its weights.

    python -m training.segmenter_cards --work out/seg-ecssd     # after python -m training.export out/seg-ecssd/*.npz
    python -m training.segmenter_cards swin-pico-salient        # remake a card from what is committed

With ``--work`` the run's ``log.jsonl`` (every evaluation on the selection split) and ``report.json`` (the report
sets, scored once at the end) are first copied to ``docs/results/segmenters/NAME.jsonl`` and ``NAME.report.json``;
a run that started from an earlier run's weights (``--init out/.../NAME.npz``) has that run's log and report copied
beside them as ``NAME.stage1.jsonl`` and ``NAME.stage1.report.json``, and the card names both stages;
the card (``src/roicodec/segment/weights/NAME.md``) is then made from those two files, the recipe inside the
exported weights and, where it has the model, ``docs/results/segment_speed.json``. The exported weights must be the
ones the report scored (their SHA-256 is checked).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from roicodec import digest, weights
from roicodec.segment.build import load_config
from roicodec.segment.grabcut import describe
from roicodec.segment.sources import ALIASES, EMBEDDED_MODELS, weights_path
from training.evaluate_segmenter import dataset_module

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results" / "segmenters"
SPEED = ROOT / "docs" / "results" / "segment_speed.json"

LICENCE = {
    "ecssd": "ECSSD is distributed for research use, and training started from `swin-pico-camvid`, whose CamVid data "
             "are CC BY-NC 4.0: use these weights for non-commercial research only, with attribution to ECSSD (Yan "
             "et al. 2013) and CamVid (Brostow et al. 2008)",
    "nuclei": "DSB2018 (BBBC038) and BBBC039 are CC0: the data put no restriction on these weights; the project's "
              "BSD-3-Clause licence covers them with its code. No other data (no pre-training) went in",
    "camvid": "the CamVid data are CC BY-NC 4.0; these weights are derived from them, so they are for non-commercial "
              "use only (with attribution to CamVid, Brostow et al. 2008). No other data (no pre-training) went in",
}
TARGETS = {
    "ecssd": "mean IoU ≥ 0.70 (must: ≥ 0.60, and ≥ 0.25 above the centre box on the same images)",
    "nuclei": "foreground IoU at least 0.03 above Otsu's (the better of plain and blurred) on DSB2018 and on BBBC039",
    "camvid": "mIoU ≥ 0.50 and Car IoU ≥ 0.70",
}

WHY_STAGES = {
    "nuclei": "`training/nuclei.py` says why there are two stages and how stage 1's data differed",
    "ecssd": "`docs/segment.md` (Training the embedded models) says why there are two stages",
}


def read_log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _binary_rows(sets: dict[str, Any], dataset: str) -> tuple[list[str], list[str]]:
    """The report table and the targets' verdicts."""
    lines, verdicts = [], []
    if dataset == "ecssd":
        s = sets["ecssd"]
        model, box = s["model"]["iou"], s["centre_box"]["iou"]
        lines += ["| images | model IoU | pooled IoU | centre box IoU | model − box |", "|---:|---:|---:|---:|---:|",
                  (f"| {s['model']['images']} | **{model:.3f}** | {s['model']['pooled_iou']:.3f} | {box:.3f} | "
                   f"{model - box:+.3f} |")]
        verdicts += [f"mean IoU ≥ 0.70: {_verdict(model >= 0.70)} ({model:.3f})",
                     f"≥ 0.60: {_verdict(model >= 0.60)}",
                     f"≥ 0.25 above the centre box: {_verdict(model - box >= 0.25)} ({model - box:+.3f})"]
        return lines, verdicts
    lines += ["| set | modality | images | model IoU | Otsu IoU | Otsu, blur 2 px | model − better Otsu |",
              "|---|---|---:|---:|---:|---:|---:|"]
    for name, s in sets.items():
        groups = [("all", s), *sorted(s.get("by_modality", {}).items())] if len(s.get("by_modality", {})) > 1 \
            else [("all", s)]
        for modality, g in groups:
            best = max(g["otsu"]["iou"], g["otsu_blur2"]["iou"])
            lines.append(f"| {name} | {modality} | {g['model']['images']} | **{g['model']['iou']:.3f}** | "
                         f"{g['otsu']['iou']:.3f} | {g['otsu_blur2']['iou']:.3f} | {g['model']['iou'] - best:+.3f} |")
        best = max(s["otsu"]["iou"], s["otsu_blur2"]["iou"])
        verdicts.append(f"{name}: {_verdict(s['model']['iou'] - best >= 0.03)} ({s['model']['iou'] - best:+.3f})")
    return lines, verdicts


def _camvid_rows(sets: dict[str, Any]) -> tuple[list[str], list[str]]:
    s = sets["camvid"]
    classes = list(s["IoU"])
    cells = [("—" if s["IoU"][c] is None else f"{s['IoU'][c]:.3f}") for c in classes]
    lines = ["| " + " | ".join([*classes, "**mIoU**"]) + " |", "|" + "---:|" * (len(classes) + 1),
             "| " + " | ".join([*cells, f"**{s['mIoU']:.3f}**"]) + " |"]
    car = s["IoU"]["Car"] or 0.0
    return lines, [f"mIoU ≥ 0.50: {_verdict(s['mIoU'] >= 0.5)} ({s['mIoU']:.3f})",
                   f"Car IoU ≥ 0.70: {_verdict(car >= 0.7)} ({car:.3f})"]


def _speed(name: str) -> str:
    if SPEED.exists():
        for row in json.loads(SPEED.read_text()).get("models", []):
            if row.get("model") == name:
                t = row["threads"][0]
                return (f"{t['median_s']:.3f} s per image on `{row['image']}` ({row['megapixels']:.2f} MP), "
                        f"{t['s_per_mp']:.2f} s per megapixel at {t['torch_threads']} torch threads (median of "
                        f"{t['runs']}; target at most 1 s); [`docs/results/segment_speed.json`]"
                        "(../../../../docs/results/segment_speed.json)")
    return "not measured yet: `python benchmarks/segment_speed.py --out docs/results/segment_speed.json`"


def card(name: str, meta: dict[str, Any], size: int, sha: str, params: int, log: list[dict[str, Any]],
         rep: dict[str, Any]) -> str:
    r = meta["recipe"]
    dataset = r["dataset"]
    embedded = EMBEDDED_MODELS[name]
    cfg = load_config(ROOT / "src" / "roicodec" / "segment" / "configs" / meta["config"])
    bb, head = cfg.model.backbone, cfg.model.decode_head
    split = json.loads((ROOT / r["split_file"]).read_text())
    counts = ", ".join(f"{k} {v}" for k, v in split["counts"].items())
    if r.get("fold_selection"):
        counts += "; this run trained on train and selection together, so only the report split is held out"
    chosen = meta["chosen_at_iter"]
    curve = "\n".join(
        f"| {'**' if e['iter'] == chosen else ''}{e['iter']:,}{'**' if e['iter'] == chosen else ''} | "
        f"{e['minutes']:.1f} | {e['loss']:.3f} | {e['selection']['score']:.3f} |" for e in log)
    rows, verdicts = _camvid_rows(rep["sets"]) if dataset == "camvid" else _binary_rows(rep["sets"], dataset)
    table = "\n".join(rows)
    init = r.get("init")
    started = (f"started from `{init['from']}` (SHA-256 `{init['sha256']}…`: {init['tensors']} of {init['of']} "
               "tensors matched by name and shape)" if init else "trained from random weights")
    stage1 = _stage1(name)
    if stage1 is not None:
        first_log, first_report = stage1
        first = first_report.get("command", "?").removesuffix(" (at its end)")
        started += (f", the weights of stage 1: `{first}`, {first_log[-1]['iter']:,} iterations, its every "
                    f"evaluation in [`docs/results/segmenters/{name}.stage1.jsonl`](../../../../docs/results/"
                    f"segmenters/{name}.stage1.jsonl) and its report in [`{name}.stage1.report.json`](../../../../"
                    f"docs/results/segmenters/{name}.stage1.report.json); {WHY_STAGES.get(dataset, '')}")
    inputs = ("8-bit RGB as it is (gray repeated to 3 channels), ImageNet mean/std" if embedded.input == "rgb" else
              "any depth: `roicodec.segment.normalise.microscopy_rgb` (percentiles 1 and 99.8 of the image to 0 and "
              "255, one stretch for all channels, gray repeated to RGB), then mean 127.5, std 64; the trainer uses "
              "the same function")
    if embedded.square:
        scale = (f"every image resized to {embedded.square}x{embedded.square} (aspect bent) and run in one pass, the "
                 "subject's probability resized back to the image's size (bilinear) before the threshold")
    else:
        scale = (f"short side resized to {embedded.short_side}" if embedded.short_side else "native scale") + \
            f", windows of {embedded.window}"
    folded = bool(r.get("fold_selection"))
    mirrored = 'each window averaged with its mirror image (left to right)' if meta.get('mirror') else 'no mirror'
    if folded and "threshold" in meta:
        scale += (f"; a pixel is {meta['classes'][1]} where that class's probability is at least "
                  f"{meta['threshold']}, and {mirrored}: both fixed before training (the selection split, which "
                  "would have chosen them, was trained on), as the earlier runs of this model had chosen them")
    elif "threshold" in meta:
        tried = ", ".join(f"{t}: {v:.3f}" for t, v in meta["threshold_selection"].items())
        scale += (f"; a pixel is {meta['classes'][1]} where that class's probability is at least "
                  f"{meta['threshold']}, the threshold that scored best on the selection split after training "
                  f"(mean IoU per threshold: {tried})")
    if "mirror" in meta and not folded:
        chose = meta["mirror_selection"]
        scale += (f"; {mirrored}, chosen there too (best selection IoU without mirror {chose['off']:.3f}, with "
                  f"{chose['on']:.3f})")
    if "refine_selection" in meta:
        tried = meta["refine_selection"]
        without = next(t["score"] for t in tried if t["refine"] is None)
        best = max(t["score"] for t in tried)
        refinement = "none" if meta["refine"] is None else describe(meta["refine"])
        scale += (f"; then the foreground follows the image's edges: {refinement} (`roicodec.segment.grabcut`), chosen on "
                  f"the selection split from none and {len(tried) - 1} GrabCut settings "
                  f"(`training.segmenter.choose_refinement`; selection IoU {best:.3f}, {without:.3f} without)")
    position = f", absolute position embedding of {bb.pretrain_img_size}x{bb.pretrain_img_size}" \
        if bb.get("use_abs_pos_embed") else ""
    evaluations = len(log)
    averaging = ""
    if r.get("average_from") is not None:
        done = meta.get("averaged", {})
        averaging = (f" From iteration {r['average_from']:,} the step size held and every {r['average_every']}th "
                     f"iterate went into a running mean of the weights (stochastic weight averaging, Izmailov et al. "
                     f"2018), its batch-norm statistics measured afresh on {r['norm_batches']} training batches: "
                     f"the mean of {done.get('snapshots', '?')} snapshots is what ships.")
    if folded:
        kept = (f"Scored on the selection split (trained on) every {r['eval_every']} iterations ({evaluations} "
                f"evaluations), which chose nothing: the last weights were kept (iteration {chosen:,}, after "
                f"{meta['train_minutes']:.1f} minutes of training).")
    else:
        kept = (f"Scored on the selection split every {r['eval_every']} iterations ({evaluations} evaluations); the "
                f"best was kept (iteration {chosen:,}, after {meta['train_minutes']:.1f} minutes of training).")
    words = r["command"].split()
    work = words[words.index("--work") + 1] if "--work" in words[:-1] else f"out/seg-{dataset}"
    return f"""# Model card: `{name}`

<!-- made by python -m training.segmenter_cards from docs/results/segmenters/{name}.jsonl and {name}.report.json -->

An embedded segmenter behind `roicodec encode --roi auto` ({dataset}), trained here on a 2-core CPU and shipped
inside the package so that automatic ROI works offline.

| | |
|---|---|
| file | `{name}.npz`: parameters as float16, recipe and selection figures as JSON under `meta`; loads with pickle off. {size / 1e6:.1f} MB, SHA-256 `{sha}…` |
| config | `roicodec/segment/configs/{meta['config']}`, built through mmseg's registry (`MODELS.build`) |
| architecture | mmseg `SwinTransformer`: patch 4, embed dims {bb.embed_dims}, depths {tuple(bb.depths)}, heads {tuple(bb.num_heads)}, window {bb.window_size}{position}; mmseg `SegformerHead`, {head.channels} channels; {params:,} parameters |
| classes | {', '.join(meta['classes'])}; default ROI class: {', '.join(cfg.get('roi_classes', ()))} |
| inference | {scale}; input: {inputs} |
| data | {dataset_module(dataset).ABOUT}; from the shared data folder, read by `training/{dataset}.py` |
| split | {split['rule']} ({counts}); the lists: [`training/splits/{dataset}.json`](../../../../training/splits/{dataset}.json) |
| licence | {LICENCE[dataset]} |

## Recipe

`{r['command']}`, then `python -m training.export {work}/{name}.npz` and
`python -m training.segmenter_cards --work {work}`.

{r['iters']:,} iterations of batch {r['batch']}, {r['crop']}x{r['crop']} crops (`training/{dataset}.py` gives the
augmentation), AdamW at {r['lr']} (weight decay {r['weight_decay']}; {r['warmup']} iterations of warm-up, then poly
decay), cross-entropy{f" + {r['dice']} x soft Dice" if r['dice'] else ""}{", class-weighted" if r.get('class_weights') else ""};
{started}; seed {r['seed']}, {r['threads']} thread(s), torch {r.get('torch', '?')}.{averaging} {kept}

Every evaluation, from [`docs/results/segmenters/{name}.jsonl`](../../../../docs/results/segmenters/{name}.jsonl):

| iteration | minutes | loss | selection score |
|---:|---:|---:|---:|
{curve}

(Selection score: {"mIoU over the 11 classes" if dataset == "camvid" else "mean foreground IoU per image, at the working scale"}.
{"It was trained on, so it is a training score; the figures below are not." if folded else
 "It chose the checkpoint, so it is optimistic; the figures below are not."})

## Report (held out: chose nothing)

Scored once, after training, through the `--roi auto` path on the images as stored,
by `{rep['command']}` ([`docs/results/segmenters/{name}.report.json`](../../../../docs/results/segmenters/{name}.report.json);
the same figures: `python -m training.evaluate_segmenter --dataset {dataset}`):

{table}

Targets ({TARGETS[dataset]}): {'; '.join(verdicts)}.

Speed: {_speed(name)}.
"""


def _stage1(name: str) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
    """The committed log and report of the run whose weights this model's run started from, if it had one."""
    log, rep = RESULTS / f"{name}.stage1.jsonl", RESULTS / f"{name}.stage1.report.json"
    return (read_log(log), json.loads(rep.read_text())) if log.exists() and rep.exists() else None


def publish(work: Path) -> str:
    """Copy a run's log and report into docs/results/segmenters/ (and those of the run its weights started from,
    when that was a run's folder); the model's name."""
    rep = json.loads((work / "report.json").read_text())
    name = rep["model"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = weights.read_meta(work / f"{name}.npz")
    init = meta["recipe"].get("init") or {}
    source = init.get("from")
    earlier = Path(source).parent if source and source.endswith(".npz") else None
    stage1 = [RESULTS / f"{name}{suffix}" for suffix in (".stage1.jsonl", ".stage1.report.json")]
    committed = [RESULTS / f"{name}.jsonl", RESULTS / f"{name}.report.json"]
    described = json.loads(committed[1].read_text()).get("weights_sha256") if committed[1].exists() else None
    if described is not None and described == init.get("sha256"):
        # Started from the weights the committed files describe (the shipped ones): those files become stage 1.
        for old, new in zip(committed, stage1):
            shutil.copyfile(old, new)
    elif described != rep["weights_sha256"]:  # (published before: its stage 1 is in place)
        for path in stage1:
            path.unlink(missing_ok=True)
        if earlier is not None and (earlier / "log.jsonl").exists() and (earlier / "report.json").exists():
            shutil.copyfile(earlier / "log.jsonl", stage1[0])
            shutil.copyfile(earlier / "report.json", stage1[1])
    shutil.copyfile(work / "log.jsonl", committed[0])
    shutil.copyfile(work / "report.json", committed[1])
    return name


def write_card(name: str) -> Path:
    name = ALIASES.get(name, name)
    path = weights_path(name)
    if not path.exists():
        raise SystemExit(f"{path} does not exist: python -m training.export the run's {name}.npz first")
    rep = json.loads((RESULTS / f"{name}.report.json").read_text())
    sha = digest.sha256(path).hex()
    if not sha.startswith(rep["weights_sha256"]):
        raise SystemExit(f"{path} is not the file {RESULTS / (name + '.report.json')} scored: export that run's "
                         "weights, or run its report again")
    meta, arrays = weights.read(path)
    params = sum(v.size for k, v in arrays.items() if k.startswith("param/") and v.dtype.kind == "f")
    text = card(name, meta, path.stat().st_size, sha[:16], params, read_log(RESULTS / f"{name}.jsonl"), rep)
    out = path.with_suffix(".md")
    out.write_text(text)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.segmenter_cards", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="models whose cards to remake from the committed files")
    parser.add_argument("--work", type=Path, action="append", default=[], help="a finished run's folder")
    args = parser.parse_args(argv)
    names = [*(publish(work) for work in args.work), *args.names]
    if not names:
        parser.error("name a model, or give --work")
    for name in names:
        print(f"wrote {write_card(name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

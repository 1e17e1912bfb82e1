"""Write the model cards of the rate-distortion base models (``src/roicodec/models/weights/rd-q*.md``).

    python -m training.cards

Every figure on a card comes from a file: the recipe stored in the weights, the training logs of both runs
(``docs/results/rd_train/``, copied from the runs' ``--work`` folders) and ``docs/results/base_vs_jpeg.json``
(``python benchmarks/base_vs_jpeg.py``). Run it after those change.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from roicodec import weights
from roicodec.models import registry
from training.base_rd import FIRST_RUN_LAMBDAS as RUN1_LAMBDAS

ROOT = Path(__file__).resolve().parent.parent
OLD_TRAINER, TRAINER = "python -m roicodec.models.train_rd", "python -m training.base_rd"
"""The trainer's name when the shipped runs were made, and now (same options; weights then go through
``python -m training.export``)."""
RUN1_COMMAND = f"{TRAINER} --data ../shared/data/bsds500 --lambdas 0.0018 0.0035 0.0067 0.013 " \
               "--iters 36000 --threads 2 --work out/rd-train"
CURVE_AT = (2000, 6000, 12000, 18000, 24000, 30000, 36000)
"""First-run iterations the cards list; the second run's are listed every 8,000."""


def _read_log(path: Path, lambdas: tuple[float, ...]) -> dict[float, list[tuple[int, float, float]]]:
    """Per lambda, (total iteration, bpp, PSNR) from a training log (a first run's log counts from 0)."""
    out: dict[float, list[tuple[int, float, float]]] = {lam: [] for lam in lambdas}
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        total = entry.get("total_iter", entry["iter"])
        for row in entry["bsds_test"]:
            out[lambdas[row["rate"]]].append((total, row["bpp"], row["psnr"]))
    return out


def _card(name: str, meta: dict, params: int, size: int, digest: str, family: list[str], curve: list[tuple],
          kodak: dict, preview: dict | None) -> str:
    r = meta["recipe"]
    cfg = meta["config"]
    n, m = cfg["channels"], cfg["latent_channels"]
    k = family.index(name) + 1
    others = ", ".join(f"`{f}`" for f in family if f != name)
    lams = ", ".join(str(x) for x in r["lambdas"])
    rows = "\n".join(f"| {it:,} | {bpp:.3f} | {psnr:.2f} |" for it, bpp, psnr in curve)
    kodak_rows = "\n".join(
        f"| {label} | {kodak[s]['base']['bpp']:.3f} | {kodak[s]['base']['psnr']:.2f} | "
        f"{kodak[s]['jpeg']['jpeg-default']['bpp']:.3f} / {kodak[s]['jpeg']['jpeg-optimize']['bpp']:.3f} bpp |"
        for s, label in (("full", "full size (768x512)"), ("192x256", "192x256 centre crops")))
    if preview is not None:
        preview_text = (
            f"For thumbnails (docs/pillow.md): two transposed convolutions ({m}→{m // 2}→3 channels, 5x5, stride 2,\n"
            "ReLU, sigmoid) from the latent to a 1/4-size image, distilled so that it matches this model's decoded "
            "base, 4x4\naveraged, on BSDS500 crops: fit "
            f"{preview['fit_psnr_db']:.2f} dB PSNR against that target. Made by\n"
            f"`python -m training.preview --data ../shared/data/bsds500 --model {name}`, then `python -m "
            f"training.export out/preview/{name}.preview.npz` (recipe and the hash of "
            "the base\nweights it was distilled from are in its `meta`; a head for other weights is not used).")
    else:
        preview_text = "None ships yet: thumbnails decode the full base and shrink it."
    first = r["lambdas"][0]
    return f"""# Model card: `{name}`

A rate-distortion trained base-layer model, quality {k} of {len(family)} in the `rd` family ({others} are the others;
q1 is the smallest base). Same geometry as the paper's autoencoder (`paper-ae`: four stride-2 5x5 layers, latent at
1/16 of the resolution, so the same tiles and halo), but GDN transforms and a learned entropy model trained for
rate + lambda x distortion, after Balle et al. 2018 ("bmshj2018-factorized").

| | |
|---|---|
| file | `{name}.npz` (parameters as float32, coding tables as integer counts, recipe as JSON; no pickle), {size / 1e6:.1f} MB |
| identity | name `{name}`, hash `{digest}` (first 8 bytes of the file's SHA-256), as `.roi` headers record it |
| size | {params:,} parameters |
| architecture | analysis: 4 convolutions 5x5 stride 2 (3→{n}→{n}→{n}→{m}) with GDN between; synthesis: 4 transposed convolutions mirroring them with inverse GDN between, linear output clamped to [0, 255] when rounded to 8 bits. Latent: {m} channels at 1/16 of the resolution, rounded to integers. Code: `roicodec/models/factorized.py`, `roicodec/models/layers.py` |
| entropy model | a learned factorised density per latent channel (`roicodec/models/density.py`, Balle et al. 2018 appendix 6.1), trained with the transforms; exported as integer counts (about 2^16 per channel, at least 1 for every symbol whose mass is above 1e-7 at either tail) and range-coded with constriction. Decoding reads only these integers: the symbols decode the same on every machine |
| lambda | {r['lambda']} (loss = bpp + lambda x 255^2 x MSE on RGB in [0, 1], CompressAI's convention) |
| data | BSDS500 (Arbelaez et al. 2011) train + val, {r['images']} natural photographs of 481x321 (portrait ones turned to landscape); research use. Not trained on Kodak. |
| licence | the weights are derived from BSDS500, which is distributed for research use (`../shared/data/README.md`): use them for research. The project's BSD-3-Clause licence covers its code; it cannot grant more on the weights than the images allow. No other data (no pre-training) went in |
| recipe | one set of transforms for all rates (Cui et al. 2021's gained variable rate: shared transforms, a gain and an inverse-gain vector and an entropy model per rate; each batch of {r['batch']} random {r['crop']}x{r['crop']} crops, horizontally flipped half the time, spreads over the rates); export folds this rate's gains into the last analysis and first synthesis layers. Two runs. **Run 1**: lambdas {', '.join(str(x) for x in RUN1_LAMBDAS)}, 36,000 iterations, Adam at 0.0003 (x0.1 after 85 % of them). **Run 2**: started from run 1's last checkpoint with lambda {first} added below (its rate starts from the nearest trained one's, gains moved by half the log-lambda step), lambdas {lams}, {r['iters']:,} iterations, Adam at {r['lr']} reached over {r['warmup']:,} iterations, x0.1 after 85 % of them. Both: gradient norm clipped at 1, additive uniform noise U(-0.5, 0.5) as the stand-in for rounding, seed {r['seed']}; torch {r['torch']} CPU. {r['trained_iters']:,} iterations and {r['train_minutes']:.0f} minutes of training in all on the project's shared 2-core machine |
| schedule as it ran | run 1 started with `--threads 1`, was stopped at iteration 13,800 while a segmentation model trained beside it, and resumed from that checkpoint with `--threads 2` (threads change the speed, not the recipe); run 2 ran through with `--threads 2` |
| commands | run 1: `{RUN1_COMMAND}`; run 2: `{r['command'].replace(OLD_TRAINER, TRAINER)}`; then `python -m training.export out/rd-train-2/rd-q*.npz`. Each checkpoints to its `--work` folder and resumes from there after a stop; the recipe is stored in the `.npz` under `meta` (the runs were made when the trainer was `roicodec.models.train_rd`, with the same options) |

## Rate and distortion

BSDS500 test (its first 12 images, rate from the entropy model, rounded latent), from the training logs
(`docs/results/rd_train/`), for this rate; iterations count both runs:

| iteration | bpp | PSNR (dB) |
|---:|---:|---:|
{rows}

Kodak, from [`docs/base_layer.md`](../../../../docs/base_layer.md), made by `python benchmarks/base_vs_jpeg.py` (mean of
the 24 images; bpp from every byte of a base-only `.roi` file):

| Kodak | base bpp | PSNR (dB) | Pillow JPEG at the same PSNR, default / `optimize=True` |
|---|---:|---:|---:|
{kodak_rows}

The family's BD-rate against JPEG, JPEG 2000, AVIF and WebP on PSNR and MS-SSIM, and its decode time against
JPEG 2000's, are in [`docs/results.md`](../../../../docs/results.md) ("Base layer"; `roicodec bench`).

## Preview head: `{name}.preview.npz`

{preview_text}

## Limits

- Trained for MSE at low rates only: the base layer is the background and the context for the ROI, not a
  high-fidelity image. For higher base quality, pick a higher `q`; the ROI's enhancement layers carry the detail.
- Trained briefly on a CPU ({r['trained_iters']:,} steps of {r['batch']} crops of {r['crop']}x{r['crop']}, where
  published models train for millions of steps on GPUs), on {r['images']} photographs, with narrow transforms ({n}
  channels where bmshj2018 uses 128 to 192): published bmshj2018-factorized models are ahead of it
  (docs/results.md).
- Decoded pixels come from float convolutions: two machines may differ by a grey level (the symbols never differ).
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logs", type=Path, default=ROOT / "docs/results/rd_train")
    parser.add_argument("--kodak", type=Path, default=ROOT / "docs/results/base_vs_jpeg.json")
    args = parser.parse_args(argv)

    family = sorted((n for n in registry.available() if n.startswith("rd-q")), key=lambda n: int(n[4:]))
    kodak = json.loads(args.kodak.read_text())
    run1 = _read_log(args.logs / "run1.jsonl", RUN1_LAMBDAS)
    run2: dict[float, list[tuple[int, float, float]]] = {}
    for name in family:
        info = registry.info(name)
        meta, arrays = weights.read(info.path)
        run2 = run2 or _read_log(args.logs / "run2.jsonl", tuple(meta["recipe"]["lambdas"]))  # one run made them all
        lam = meta["recipe"]["lambda"]
        first, last = min(it for it, *_ in run2[lam]), max(it for it, *_ in run2[lam])
        curve = [p for p in run1.get(lam, []) if p[0] in CURVE_AT]
        curve += [p for p in run2[lam] if (p[0] - 36000) % 8000 == 0 or p[0] in (first, last)]
        if kodak["meta"]["models"].get(name) != info.hash.hex():
            parser.error(f"{args.kodak} measured other {name} weights: run python benchmarks/base_vs_jpeg.py first")
        sizes = {s: kodak["summary"][s][name] for s in ("full", "192x256")}
        preview_path = info.path.with_suffix(".preview.npz")
        preview = weights.read(preview_path)[0] if preview_path.exists() else None
        if preview is not None and preview["base_hash"] != info.hash.hex():
            parser.error(f"{preview_path} was distilled from other weights: run python -m training.preview "
                         f"--model {name} first")
        params = sum(v.size for k, v in arrays.items() if k.startswith("param/"))
        text = _card(name, meta, params, info.path.stat().st_size, info.hash.hex(), family, curve, sizes, preview)
        info.path.with_suffix(".md").write_text(text)
        print(f"wrote {info.path.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

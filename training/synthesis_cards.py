"""Write the model cards of a family whose synthesis was tuned (``training.base_synthesis``: ``hps-q*.md``) from
committed files.

    python -m training.synthesis_cards --work out/hps-train   # copies the run's log.jsonl to docs/results/hps_train/
    python -m training.synthesis_cards                        # remakes the cards from what is committed

Every figure comes from a file: the recipe inside each weight file, the training log
(``docs/results/FAMILY_train/log.jsonl``: PSNR on BSDS500 test photos at each evaluation), ``roicodec bench``'s Kodak
summary and speed (``docs/results/summary.json``, ``speed.json``) and, where it was run, ``benchmarks/refine.py
--family FAMILY`` (``docs/results/refine_FAMILY.json``). A card is refused when the bench measured other weights
than the installed ones.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from roicodec import weights
from roicodec.models import registry, store
from training.hyper_cards import RESULTS, Bench, _bd, _family, _head_to_head, installed, training_log


def _refined(refine: dict[str, Any] | None, family: str) -> str:
    if refine is None:
        return ""
    steps = refine["steps"]
    vs = refine["bd_rate_vs_jpeg"]
    cells = ", ".join(f"{name} {_bd({'bd': {'psnr': vs['psnr'][name]}}, 'psnr')}"
                      for name in (family, f"{family} refine={steps}", "avif", "jpeg2000"))
    return (f"\n\nWith the encoder's refinement (`refine={steps}`; `python benchmarks/refine.py --family {family} "
            f"--steps {steps}`, [`docs/results/refine_{family}.json`](../../../../docs/results/refine_{family}.json)), "
            f"PSNR BD-rate against JPEG in that run: {cells}.")


def card(name: str, meta: dict[str, Any], size: int, digest: str, curve: list[tuple[int, float]],
         minutes: float, kodak: dict[str, Any] | None, source: dict[str, Any] | None, families: dict[str, Any],
         decode: dict[str, float], refine: dict[str, Any] | None) -> str:
    r = meta["recipe"]
    family = name.split("-q")[0]
    lender = meta["transforms"]
    k = r["rate"] + 1
    rows = "\n".join(f"| {it:,} | {psnr:.2f} |" for it, psnr in curve)
    kodak_text = "not measured yet: run `roicodec bench --data ../shared/data/kodak --out docs/results`"
    if kodak is not None:
        kodak_text = (f"{kodak['bpp']:.4f} bpp at {kodak['psnr']:.2f} dB PSNR, MS-SSIM {kodak['ms_ssim']:.4f} "
                      f"(mean of {kodak['images']} images, every byte of a base-only `.roi` file)"
                      + (f"; `{r['source']}`, the same bytes decoded by its own synthesis: {source['bpp']:.4f} bpp at "
                         f"{source['psnr']:.2f} dB" if source else ""))
    retargeted = "".join(f"; started as `--iters {t['from']:,}` and set to {t['to']:,} at iteration {t['at']:,} "
                         "(`training.checkpoint`: no step size had differed yet)" for t in r.get("retargeted", []))
    speed = "not measured yet" if not decode else ", ".join(f"`{n}` {s:.3f} s" for n, s in decode.items())
    return f"""# Model card: `{name}`

A mean-scale hyperprior base-layer model, quality {k} of 5 in the `{family}` family, q1 the smallest base. It is
`{r['source']}` with a synthesis of its own: the same analysis, hyperprior and coding tables, so for any image it writes
the same bytes as `{r['source']}`, and its decoder, tuned on the rounded latents that files hold, turns them into a
better picture.

| | |
|---|---|
| file | `{name}.npz` (compressed; no pickle), {size / 1e6:.2f} MB: `{r['source']}`'s hyperprior and tables, and `g_s` as float16 |
| identity | name `{name}`, hash `{digest}` (first 8 bytes of the file's SHA-256), as `.roi` headers record it |
| analysis `g_a` | borrowed from `{lender['model']}` (hash `{lender['hash']}`, checked on loading; `"parts": ["g_a"]`), as `{r['source']}` borrows it |
| synthesis `g_s` | `{lender['model']}`'s, tuned for {r['iters'] // 5:,} batches (every fifth of the run's {r['iters']:,}) on `round(g_a(x))`, the latent the decoder really gets; loss: {r['loss']} |
| data | BSDS500 (Arbelaez et al. 2011) train + val; research use. Not trained on Kodak |
| licence | derived from BSDS500, distributed for research use: use the weights for research. The project's BSD-3-Clause licence covers the code |
| recipe | `{r['command']}`: batch {r['batch']} of {r['crop']}x{r['crop']} crops, the five rates in turn, Adam at {r['lr']} (warm-up {r['warmup']} batches, a tenth after 85 %), seed {r['seed']}{retargeted}; {minutes:.0f} minutes on the project's 2-core CPU ({r['threads']} threads), torch {r['torch']} |
| export | the same command with `--export-only`, then `python -m training.export` on the `{family}-q*.npz` files |

## PSNR on BSDS500 test

The first {r['eval_images']} test images through `g_s(round(g_a(x)))`, 8-bit (`docs/results/{family}_train/log.jsonl`);
iteration 0 is `{r['source']}`'s synthesis.

| iteration | PSNR (dB) |
|---:|---:|
{rows}

## Kodak

{kodak_text}. Family BD-rate against Pillow's JPEG on full-size Kodak (`roicodec bench`, [`docs/results.md`](../../../../docs/results.md)):
`{family}` {_bd(families.get(family), 'psnr')} PSNR, {_bd(families.get(family), 'ms_ssim_db')} MS-SSIM;
`hp` {_bd(families.get('hp'), 'psnr')} / {_bd(families.get('hp'), 'ms_ssim_db')}; AVIF
{_bd(families.get('avif'), 'psnr')} / {_bd(families.get('avif'), 'ms_ssim_db')}; JPEG 2000 (`mct=1`)
{_bd(families.get('jpeg2000'), 'psnr')} / {_bd(families.get('jpeg2000'), 'ms_ssim_db')}.{_head_to_head(families.get(family))}{_refined(refine, family)}

Decode of a base-only file, median per image on the bench's speed images: {speed}.

## Limits

- Only the synthesis learnt: the analysis and the hyperprior are `{r['source']}`'s, trained on a 2-core CPU for far fewer
  steps than published hyperpriors. The colour cast of the transforms in dark neutral regions is in
  docs/colour_cast.md.
- Files of `{r['source']}` do not decode with this model, nor the reverse: the header names the model and its hash.
"""


def cards(family: str, work: Path | None = None) -> dict[Path, str]:
    """Each installed ``FAMILY-qN``'s card text by the path it goes to, from the committed files (the run's log
    copied from ``work`` first)."""
    log = training_log(family, work)
    bench = Bench.read()
    refine_path = RESULTS / f"refine_{family}.json"
    refine = json.loads(refine_path.read_text()) if refine_path.exists() else None
    families = {n: _family(bench.summary, n) for n in (family, "hp", "avif", "jpeg2000")}
    out = {}
    for name in installed(family):
        info = registry.info(name)
        meta = weights.read_meta(info.path)
        rate, source = meta["recipe"]["rate"], meta["recipe"]["source"]
        curve = [(e["iter"], e["eval"][rate]["psnr"]) for e in log]
        store.borrowed(info.path, meta)  # the lender is installed with the hash the card will name
        source_kodak = bench.models.get(source) if source in bench.measured else None
        out[info.path.with_suffix(".md")] = card(
            name, meta, info.path.stat().st_size, info.hash.hex(), curve, log[-1]["minutes"],
            bench.kodak(name, info.hash.hex()), source_kodak, families, bench.decode((name, source)), refine)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.synthesis_cards", description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, help="the run's folder: its log.jsonl is copied in first")
    parser.add_argument("--family", default="hps")
    args = parser.parse_args(argv)
    for path, text in cards(args.family, args.work).items():
        path.write_text(text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

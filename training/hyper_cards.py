"""Write the model cards of the hyperprior base models (``src/roicodec/models/weights/hp-q*.md``, ``hp2-q*.md``) from
committed files.

    python -m training.hyper_cards --work out/hp-train    # copies the run's log.jsonl to docs/results/hp_train/ first
    python -m training.hyper_cards --family hp2 --work out/hp-joint   # the jointly trained family: hp2_train/
    python -m training.hyper_cards [--family hp2]         # remakes the cards from what is committed

Every figure comes from a file: the recipe inside each weight file, the training log
(``docs/results/FAMILY_train/log.jsonl``: the BSDS500 test figures of every evaluation), the rd family's last logged
figures on the same images (``docs/results/rd_train/run2.jsonl``) and ``roicodec bench``'s Kodak summary and speed
(``docs/results/summary.json``, ``speed.json``; run ``roicodec bench --data ../shared/data/kodak --out docs/results``
after exporting). A card is refused when the bench measured other weights than the installed ones.
"""

from __future__ import annotations

import argparse
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roicodec import weights
from roicodec.models import registry, store

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results"
RD_LOG = RESULTS / "rd_train" / "run2.jsonl"


@dataclass(frozen=True)
class Bench:
    """What ``roicodec bench`` committed in docs/results: the summary, the speed rows, the hashes it measured and
    each base model's Kodak means."""

    summary: dict[str, Any]
    speed: list[dict[str, Any]]
    measured: dict[str, str]
    models: dict[str, dict[str, Any]]

    @classmethod
    def read(cls) -> Bench:
        summary = json.loads((RESULTS / "summary.json").read_text())
        return cls(summary, json.loads((RESULTS / "speed.json").read_text()),
                   json.loads((RESULTS / "meta.json").read_text()).get("base_models", {}),
                   {e["model"]: e for e in summary["full"]["base_layer"]["models"]})

    def kodak(self, name: str, digest: str) -> dict[str, Any] | None:
        """Model ``name``'s Kodak means, ``None`` if the bench did not measure it; refused if it measured other
        weights under that name."""
        if name not in self.measured:
            return None
        if self.measured[name] != digest:
            raise SystemExit(f"docs/results measured other {name} weights: run roicodec bench again")
        return self.models.get(name)

    def decode(self, names: tuple[str, ...]) -> dict[str, float]:
        """Median decode seconds per image of the base-only files of ``names`` that the bench measured."""
        return {e["setting"]: e["decode_s"] / e["images"] for e in self.speed
                if e["codec"] == "base" and e["setting"] in names and e["setting"] in self.measured}


def training_log(family: str, work: Path | None) -> list[dict[str, Any]]:
    """The family's committed training log (``docs/results/FAMILY_train/log.jsonl``), copied from ``work`` first."""
    path = RESULTS / f"{family}_train" / "log.jsonl"
    if work is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(work / "log.jsonl", path)
    return _log(path)


def installed(family: str) -> list[str]:
    """The installed models ``FAMILY-q1`` ... in rate order; refused when there are none."""
    prefix = f"{family}-q"
    names = sorted((n for n in registry.available() if n.startswith(prefix)), key=lambda n: int(n[len(prefix):]))
    if not names:
        raise SystemExit(f"no {prefix} model is installed: export them first (python -m training.export ...)")
    return names


def _log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _family(summary: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((e for e in summary["full"]["base_layer"]["entries"] if e["name"] == name), None)


def _bd(entry: dict[str, Any] | None, metric: str) -> str:
    if entry is None or entry.get("bd", {}).get(metric, {}).get("bd_rate") is None:
        return "not measured"
    return f"{entry['bd'][metric]['bd_rate']:+.1f} %"


def _head_to_head(entry: dict[str, Any] | None) -> str:
    """The family against AVIF and JPEG 2000 over its own range (``roicodec.bench.analysis.base_layer``)."""
    found = (entry or {}).get("vs_peers", {})
    if not all(peer in found for peer in ("avif", "jpeg2000")):
        return ""
    cells = "; ".join(f"against {label} {_bd({'bd': found[peer]}, 'psnr')} PSNR, {_bd({'bd': found[peer]}, 'ms_ssim_db')}"
                      f" MS-SSIM" for peer, label in (("avif", "AVIF"), ("jpeg2000", "JPEG 2000")))
    return ("\n\nThose figures measure each curve over the range it shares with JPEG, and this family's is far narrower "
            "and lower than the peers'. Head to head over the family's own range, the rate it needs more (+) or less "
            f"(-) at equal quality: {cells}.")


def card(name: str, meta: dict[str, Any], own_bytes: int, own_params: int, digest: str, curve: list[tuple],
         rd_point: dict[str, float], kodak: dict[str, Any] | None, families: dict[str, Any],
         decode: dict[str, float]) -> str:
    r = meta["recipe"]
    cfg = meta["config"]
    m, nh = cfg["latent_channels"], cfg["hyper_channels"]
    lender = meta.get("transforms")
    family = name.split("-q")[0]
    joint = "gains" in meta
    k = r["rate_index"] + 1
    rows = "\n".join(f"| {it:,} | {bpp:.4f} | {psnr:.2f} |" for it, bpp, psnr in curve)
    if joint:
        where = (f"stored in `{lender['model']}` (hash `{lender['hash']}`, checked on loading)" if lender else
                 "stored in this file as float16")
        transforms = (f"trained with the hyperprior (warm-started from the rd family's) and shared by the five "
                      f"`{family}` rates: {where}; this rate's gain vectors (float32) are folded into the last "
                      "analysis and first synthesis layers on loading (`roicodec.models.store`)")
        intro = (f"Each `{family}-qN` starts from the `rd` family's\ntransforms and trains them jointly with a "
                 "hyper-latent that gives every latent cell its own Gaussian (scale and\nmean) instead of one "
                 "density per channel.")
        limits = (f"- Trained jointly for {r['trained_iters'] - min(r['freeze'], r['trained_iters']):,} iterations on "
                  "a 2-core CPU: published hyperpriors train for about a million. The dark-region colour error of "
                  "each model is in docs/colour_cast.md.")
    else:
        transforms = (f"borrowed from `{lender['model']}` (hash `{lender['hash']}`, checked on loading): the same "
                      "analysis and synthesis, so the same latents and the same decoded base; only the coding differs"
                      if lender else "its own, stored as float16")
        intro = (f"Each `{family}-qN` codes the latent of its `rd-qN` twin with a\nhyper-latent that gives every "
                 "latent cell its own Gaussian (scale and mean) instead of one density per channel.")
        limits = ("- The transforms are the rd family's, trained for a factorised prior; a hyperprior trained with its "
                  "transforms\n  (jointly, for many more steps than a CPU allows) codes better. The colour cast of the "
                  "rd transforms in dark\n  neutral regions (docs/colour_cast.md) is theirs too.")
    kodak_text = "not measured yet: run `roicodec bench --data ../shared/data/kodak --out docs/results`"
    if kodak is not None:
        twin = families.get("twin")
        kodak_text = (f"{kodak['bpp']:.4f} bpp at {kodak['psnr']:.2f} dB PSNR, MS-SSIM {kodak['ms_ssim']:.4f} "
                      f"(mean of {kodak['images']} images, every byte of a base-only `.roi` file)"
                      + (f"; `{twin['model']}`: {twin['bpp']:.4f} bpp at {twin['psnr']:.2f} dB" if twin else ""))
    retargeted = "".join(f" started as `--iters {t['from']:,}` and set to {t['to']:,} at iteration {t['at']:,} "
                         "(`training.checkpoint`: no step size had differed yet);" for t in r.get("retargeted", []))
    speed = "not measured yet" if not decode else ", ".join(f"`{n}` {s:.3f} s" for n, s in decode.items())
    return f"""# Model card: `{name}`

A mean-scale hyperprior base-layer model (Minnen et al. 2018 without the context model; Ballé et al. 2018), quality
{k} of 5 in the `{family}` family, q1 the smallest base. {intro}

| | |
|---|---|
| file | `{name}.npz` (compressed; no pickle), {own_bytes / 1e6:.2f} MB, {own_params:,} float parameters stored in it (`h_a`{', `g_a`, `g_s`' if joint and not lender else ''}) plus `h_s`'s integers |
| identity | name `{name}`, hash `{digest}` (first 8 bytes of the file's SHA-256), as `.roi` headers record it |
| transforms | {transforms} |
| hyper analysis `h_a` | on the latent: 3x3 conv {m}→{nh}, ReLU, two 5x5 stride-2 convs (ReLU between); `z` rounded, coded with a factorised density per channel (integer counts) |
| hyper synthesis `h_s` | an integer network (Ballé, Johnston and Minnen 2019; `roicodec/models/integer.py`): two 5x5 stride-2 transposed convolutions and a 1x1 head to {2 * m} channels, integer weights (steps of 2^-{meta['h_s'][0]['shift']}), activations clamped to [0, 4095], every sum proven below 2^52 and computed in float64, so each cell's table index is the same on every CPU, thread count and library |
| coding tables | 64 scales (CompressAI's) x 4 mean fractions: 256 Gaussian tables as integer counts (20-bit), each cell coded relative to the floor of its mean |
| lambda | {r['lambda']} (the rd twin's) |
| data | BSDS500 (Arbelaez et al. 2011) train + val, {r['images']} photographs; research use. Not trained on Kodak |
| licence | derived from BSDS500, distributed for research use: use the weights for research. The project's BSD-3-Clause licence covers the code |
| recipe | `{r['command']}`: {r['trained_iters']:,} iterations of {r['batch']} random {r['crop']}x{r['crop']} crops spread over the five rates (a quarter darkened, a quarter with permuted channels), Adam at {r['hyper_lr']} for the hyper branch{f" and {r['lr']} for the transforms" if joint else ""} ({r['lr_step']}), warm-up {r['warmup']}, gradient norm clipped at 1; transforms frozen for {min(r['freeze'], r['trained_iters']):,} iterations; loss bits of y and z per pixel{" plus lambda x 255^2 x MSE once they train" if joint else " (the distortion is the twin's while the transforms are frozen)"};{retargeted} {r['train_minutes']:.0f} minutes on the project's 2-core CPU, torch {r['torch']} |
| export | the same command with `--export-only`, then `python -m training.export` on the `{family}-q*.npz` files{" (q1 first: the others borrow its transforms)" if joint else ""} and `python -m training.export_onnx` |

## Rate on BSDS500 test

The first 12 test images, ideal rate from the entropy models, rounded latents (`docs/results/hp_train/log.jsonl`);
the rd twin's last logged figure on the same images: {rd_point['bpp']:.4f} bpp at {rd_point['psnr']:.2f} dB.

| iteration | bpp | PSNR (dB) |
|---:|---:|---:|
{rows}

## Kodak

{kodak_text}. Family BD-rate against Pillow's JPEG on full-size Kodak (`roicodec bench`, [`docs/results.md`](../../../../docs/results.md)):
`{family}` {_bd(families.get(family), 'psnr')} PSNR, {_bd(families.get(family), 'ms_ssim_db')} MS-SSIM;
`rd` {_bd(families.get('rd'), 'psnr')} / {_bd(families.get('rd'), 'ms_ssim_db')}; AVIF
{_bd(families.get('avif'), 'psnr')} / {_bd(families.get('avif'), 'ms_ssim_db')}; JPEG 2000 (`mct=1`)
{_bd(families.get('jpeg2000'), 'psnr')} / {_bd(families.get('jpeg2000'), 'ms_ssim_db')}.{_head_to_head(families.get(family))}

Decode of a base-only file, median per image on the bench's speed images: {speed}.

## Limits

{limits}
- Decoding runs the integer `h_s` in NumPy besides the synthesis; the bench's decode times above say what it costs.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.hyper_cards", description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, help="the run's folder: its log.jsonl is copied in first")
    parser.add_argument("--family", default="hp", help="hp (transforms borrowed from rd) or hp2 (trained jointly)")
    args = parser.parse_args(argv)
    log = training_log(args.family, args.work)
    rd_last = _log(RD_LOG)[-1]["bsds_test"]
    bench = Bench.read()
    families = {n: _family(bench.summary, n) for n in (args.family, "rd", "avif", "jpeg2000")}
    for name in installed(args.family):
        info = registry.info(name)
        meta, arrays = weights.read(info.path)
        rate = meta["recipe"]["rate_index"]
        curve = [(e["iter"], e["bsds_test"][rate]["bpp"], e["bsds_test"][rate]["psnr"]) for e in log]
        kodak = bench.kodak(name, info.hash.hex())
        twin = f"rd-q{rate + 1}"  # the rd model of the same rate: the lender of hp's transforms, hp2's start
        decode = bench.decode((name, twin))
        own = sum(v.size for k, v in arrays.items() if k.startswith("param/"))
        store.borrowed(info.path, meta)  # the lender is installed with the hash the card will name
        text = card(name, meta, info.path.stat().st_size, own, info.hash.hex(), curve, rd_last[rate], kodak,
                    {**families, "twin": bench.models.get(twin)}, decode)
        info.path.with_suffix(".md").write_text(text)
        print(f"wrote {info.path.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The figures on the docs pages, remade from the JSON that the benchmarks commit in docs/results/.

    python benchmarks/pages.py [--check]

A page's measured figures sit between two markers, and everything between them is remade whole from one JSON file:

    <!-- begin NAME: made by benchmarks/pages.py from results/FILE.json -->
    ...
    <!-- end NAME -->

A benchmark run with ``--out docs/results/FILE.json`` writes that file and then remakes every block that reads it
(``write``), so the one command a page names makes both its JSON and its tables. Run alone, this script remakes every
block from the committed JSON; ``--check`` changes nothing and exits 1 where a page differs from its JSON.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
RESULTS = DOCS / "results"

BLOCK = re.compile(r"<!-- begin (?P<name>[\w-]+)(?::[^>]*)? -->\n.*?<!-- end (?P=name) -->", re.DOTALL)


# ---------------------------------------------------------------------------------------------------------- runs


def begin() -> dict:
    """What a run records before it starts: the clock, and the load that tells a reader whether the machine was
    quiet (the first thing to doubt about a timing)."""
    return {"t0": time.perf_counter(), "load": os.getloadavg()[0]}


def _version(dist: str) -> str | None:
    # From the installed metadata, so that recording torch's version does not import torch into a timed process.
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def code() -> dict:
    """Which roicodec a run measures: the commit of the source that ``import roicodec`` finds (found without
    importing it), and whether that source differed from the commit. Without a commit, nobody can tell later which
    code a figure belongs to."""
    spec = importlib.util.find_spec("roicodec")
    if spec is None or spec.origin is None:
        return {"commit": None, "modified": None}
    where = Path(spec.origin).parent

    def git(*args: str) -> str | None:
        proc = subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--", ".")
    return {"commit": commit, "modified": None if status is None else bool(status)}


def meta(script: str, argv: list[str], begun: dict) -> dict:
    """The run's provenance: the command as a reader would type it, the code it measured, when, on what, and how
    long it took."""
    return {
        "command": shlex.join(["python", f"benchmarks/{script}", *argv]),
        "code": code(),
        "date": datetime.date.today().isoformat(),
        "wall_s": round(time.perf_counter() - begun["t0"], 1),
        "cpus": os.cpu_count(),
        "load_average_start": round(begun["load"], 2),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "versions": {name: _version(name) for name in ("roicodec", "torch", "pillow", "numpy")},
    }


def write(path: Path, result: dict) -> None:
    """Write a run's JSON, then remake the blocks that read it (none, for a file outside docs/results/)."""
    path.write_text(json.dumps(result, indent=1) + "\n")
    reading = {name for name, block in BLOCKS.items() if (RESULTS / block.source).resolve() == path.resolve()}
    for page in {BLOCKS[name].page for name in reading}:
        target = DOCS / page
        target.write_text(render_page(target.read_text(), page, _load, only=reading))


# --------------------------------------------------------------------------------------------------- formatting


def wall(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} minutes"


def made_by(result: dict, source: str, what: str = "") -> str:
    """The sentence every block opens with: the command, the date, the machine's state, and where the figures are."""
    m = result["meta"]
    commit = m.get("code", {}).get("commit")
    version = f"roicodec at commit `{commit[:10]}`" if commit else "roicodec at an unknown commit"
    if m.get("code", {}).get("modified"):
        version += " with uncommitted changes"
    about = "; ".join([version, what] if what else [version])
    return (f"Made by `{m['command']}` on {m['date']} ({about}), in {wall(m['wall_s'])} of wall time on "
            f"{m['cpus']} CPU cores (load average {m['load_average_start']:.1f} at the start); "
            f"the figures: [`results/{source}`](results/{source}).")


def table(header: list[str], align: str, rows: list[list[str]]) -> list[str]:
    """A Markdown table; ``align`` has one letter per column, ``l`` or ``r``."""
    rule = ["---:" if a == "r" else "---" for a in align]
    return ["| " + " | ".join(header) + " |", "|" + "|".join(rule) + "|",
            *("| " + " | ".join(row) + " |" for row in rows)]


def count(n: float) -> str:
    return f"{n:,.0f}"


def layers(n: float) -> str:
    return f"{n:g}" if float(n).is_integer() else f"{n:.2f}"


# ------------------------------------------------------------------------------------------------------- blocks


def hook_cost(r: dict) -> list[str]:
    return [
        made_by(r, "hook_cost.json", f"{r['runs']} fresh interpreters each way, hook on and off in turn, the hook's "
                "bytecode compiled first as an install leaves it"),
        "",
        *table(["measure", "median"], "lr", [
            ["import of `_roicodec_pillow_hook` (cumulative, as `-X importtime` reports it)",
             f"{r['hook_import_us_median']:.0f} µs (max {r['hook_import_us_max']:.0f} µs)"],
            ['whole start-up of `python -c "import json"`, hook on', f"{r['startup_ms_median_hook_on']:.2f} ms"],
            ["the same, `ROICODEC_NO_PILLOW_HOOK=1`", f"{r['startup_ms_median_hook_off']:.2f} ms"],
        ]),
    ]


def thumbnail_speed(r: dict) -> list[str]:
    load, thumb = r["load_s"]["median"], r["thumbnail_s"]["median"]
    speedup = load / thumb
    verdict = "met" if speedup >= r["target_speedup"] else "not met"
    return [
        made_by(r, "thumbnail_speed.json",
                f"{r['image']}, base model `{r['model']['name']}`; medians of {r['runs']} runs each, after one "
                "untimed thumbnail"),
        "",
        *table(["", "median time", "enhancement layers decoded"], "lrr", [
            ["`Image.open(path).load()`", f"{load:.3f} s", layers(r["enhancement_layers_decoded_load"])],
            ["`Image.open(path).thumbnail((128, 128))`", f"{thumb:.3f} s",
             layers(r["enhancement_layers_decoded_thumbnail"])],
            ["speed-up", f"{speedup:.1f}x", ""],
        ]),
        "",
        f"Target: a thumbnail at least {r['target_speedup']}x faster than a full load: {verdict}.",
    ]


def read_speed(r: dict) -> list[str]:
    files = {f["size"]: f for f in r["files"]}
    t = r["targets"]
    fresh_rows, warm_rows = [], []
    for key, paths in r["fresh"].items():
        f = files[key]
        name = f"{key} ({f['megapixels']:g} MP, {f['bpp']:g} bpp)"
        default = f.get("default_model", {}).get("name")
        for path, label in (("torch", f"torch (before), source, `{f['model']['name']}`"),
                            ("onnx", f"ONNX Runtime, source, `{f['model']['name']}`"),
                            ("onnx_default", f"ONNX Runtime, source, `{default}` (the default)"),
                            ("plain", f"ONNX Runtime, plain install, `{f['model']['name']}`"),
                            ("plain_default", f"ONNX Runtime, plain install, `{default}` (the default)")):
            if path not in paths:
                continue
            m = paths[path]
            fresh_rows.append([name, label, f"{m['wall_s']['median']:.2f} s", f"{m['peak_mb']['median']:.0f} MB",
                               "yes" if m["torch_imported"] else "no"])
    for key, paths in r["throughput"].items():
        torch_, onnx = paths["torch"], paths["onnx"]
        for level in ("top", "base"):
            warm_rows.append([key, "top level" if level == "top" else "base alone",
                              f"{torch_[level]['megapixels_per_s']:.2f}", f"{onnx[level]['megapixels_per_s']:.2f}",
                              f"{torch_[level]['median'] / onnx[level]['median']:.2f}x",
                              f"{onnx['jpeg2000']['megapixels_per_s']:.1f}", f"{onnx['avif']['megapixels_per_s']:.1f}"])
    first = r["fresh"][t["file"]][t.get("path", "onnx")]
    plain = r.get("plain_install")
    return [
        made_by(r, "read_speed.json",
                f"kodim23 mirror-tiled, central ROI of half of each side, default ladder "
                f"{', '.join(r['files'][0]['layers'])}, base model `{r['files'][0]['model']['name']}`; torch path: the "
                f"reader at commit `{r['torch_path']['commit'][:10]}`; medians of {r['runs']} runs"),
        "",
        "A fresh process, `python -c \"from PIL import Image; Image.open(path).load()\"`" +
        (":" if plain is None else
         f"; \"source\" runs the tree through `PYTHONPATH` (compiled by every process here, where "
         f"`PYTHONDONTWRITEBYTECODE` is set), \"plain install\" a wheel in a fresh virtual environment, as `pip "
         f"install roicodec` gives it (torch importable there: {'yes' if plain['torch_importable'] else 'no'}):"),
        "",
        *table(["file", "reader", "wall time", "peak memory", "torch imported"], "llrrl", fresh_rows),
        "",
        "Decode throughput in one warm process (megapixels per second), with Pillow's JPEG 2000 and AVIF decoders on "
        "the same image at about the same bytes, in the ONNX Runtime reader's process:",
        "",
        *table(["file", "what", "torch", "ONNX Runtime", "speed-up", "JPEG 2000", "AVIF"], "llrrrrr", warm_rows),
        "",
        f"Targets on the {t['file']} file{' of the default model in the plain install' if plain else ''}: at most "
        f"{t['wall_s']} s and {t['peak_mb']} MB without torch "
        f"({first['wall_s']['median']:.2f} s, {first['peak_mb']['median']:.0f} MB): "
        f"{'met' if t['met_fresh'] else 'not met'}; throughput no worse than the torch path's: "
        f"{'met' if t['met_throughput'] else 'not met'}.",
    ]


def read_agreement(r: dict) -> list[str]:
    rows = []
    for name, c in r["agreement"].items():
        preview = (f"{c['preview_differing'] / c['preview_values']:.4%} (max {c['preview_max']})"
                   if c["preview_values"] else "no head")
        rows.append([f"`{name}`", f"{c['differing'] / c['values']:.4%}", f"{c['max']}", preview,
                     f"{c['cells_differing'] / c['cells']:.4%}"])
    return [
        made_by(r, "read_speed.json", "the 24 Kodak images at full size, each model's decoder from the same latent"),
        "",
        *table(["model", "base values differing from torch's", "largest difference", "preview values differing",
                "latent cells rounded otherwise (encoder)"], "lrrrr", rows),
    ]


def _planes(r: dict, io: str, trim: bool = True) -> list[dict]:
    return sorted((p for p in r["planes"] if p["io"] == io and p["trim"] == trim), key=lambda p: p["megapixels"])


def _mp(p: dict) -> str:
    return f"{p['megapixels']:g}" if p["megapixels"] >= 10 else f"{p['megapixels']:.2g}"


def _flat(r: dict, ios: list[str]) -> str:
    """How the codec's own memory moved between the two largest sizes, per way of reading: the page's claim that it
    stays flat is read off this, run by run."""
    parts = []
    for io in ios:
        rows = _planes(r, io)
        if len(rows) >= 2:
            a, b = rows[-2], rows[-1]
            parts.append(f"{b['codec_anon_mib'] - a['codec_anon_mib']:+.0f} MiB with `{io}`")
    if not parts:
        return ""
    a, b = _planes(r, ios[0])[-2:]
    return f"From {_mp(a)} to {_mp(b)} megapixels the codec's own memory changed by " + " and ".join(parts) + "."


def scaling_planes(r: dict) -> list[str]:
    ios = [io for io in ("mmap", "pread") if _planes(r, io)]
    lines = [made_by(r, "scaling.json", f"base model `{r['model']['name']}`, ladder `{','.join(r['ladder'])}`")]
    for io in ios:
        rows = _planes(r, io)
        lines += ["", f"With `--io {io}`:", ""]
        if io == "mmap":
            lines += table(
                ["megapixels", "side", "encode (s)", "decode (s)", "codec's own memory (MiB)", "peak RSS rise (MiB)",
                 "mapped file pages (MiB)", "file (MB)", "of which layers (MB)"], "rrrrrrrrr",
                [[_mp(p), str(p["side"]), f"{p['encode_s']:.1f}", f"{p['decode_s']:.1f}",
                  f"{p['codec_anon_mib']:.0f}", f"{p['rss_share_mib']:.0f}",
                  f"{p['mapped_file_peak_mib'] - p['mapped_file_before_mib']:.0f}",
                  f"{p['file_bytes'] / 1e6:.2f}", f"{(p['file_bytes'] - p['base_level_bytes']) / 1e6:.2f}"]
                 for p in rows])
        else:
            lines += table(
                ["megapixels", "encode (s)", "decode (s)", "codec's own memory (MiB)", "peak RSS rise (MiB)"],
                "rrrrr",
                [[_mp(p), f"{p['encode_s']:.1f}", f"{p['decode_s']:.1f}", f"{p['codec_anon_mib']:.0f}",
                  f"{p['rss_share_mib']:.0f}"] for p in rows])
    rows = _planes(r, ios[0])
    encode = [p["encode_s"] / p["megapixels"] for p in rows]
    decode = [p["decode_s"] / p["megapixels"] for p in rows]
    lines += ["", f"Per megapixel (`{ios[0]}`, from {_mp(rows[0])} to {_mp(rows[-1])} megapixels): "
              f"{_span(encode)} s to encode, {_span(decode)} s to decode. {_flat(r, ios)}".rstrip()]
    return lines


def _span(values: list[float]) -> str:
    low, high = f"{min(values):.2f}", f"{max(values):.2f}"
    return low if low == high else f"{low} to {high}"


def scaling_trim(r: dict) -> list[str]:
    off = _planes(r, "mmap", trim=False)
    on = {p["megapixels"]: p for p in _planes(r, "mmap")}
    rows = []
    for p in (p for p in off if p["megapixels"] in on):
        q = on[p["megapixels"]]
        cpu_on, cpu_off = q["encode_cpu_s"] + q["decode_cpu_s"], p["encode_cpu_s"] + p["decode_cpu_s"]
        rows.append([_mp(p), f"{q['codec_anon_mib']:.0f}", f"{p['codec_anon_mib']:.0f}",
                     f"{p['codec_anon_mib'] - q['codec_anon_mib']:+.0f}", f"{cpu_on:.1f}", f"{cpu_off:.1f}",
                     f"{100 * (cpu_on / cpu_off - 1):+.0f} %"])
    return [
        ("From the same run, `--io mmap`, each size again with the trim turned off (`roicodec.heap.trim` replaced by a "
         "no-op in the measured process); CPU time is the process's, encode and decode together:"),
        "",
        *table(["megapixels", "own memory, trim (MiB)", "own memory, no trim (MiB)", "trim saves (MiB)",
                "CPU, trim (s)", "CPU, no trim (s)", "trim costs"], "rrrrrrr", rows),
    ]


def scaling_batch(r: dict) -> list[str]:
    rows = sorted(r["batch"], key=lambda b: b["workers"])
    lines = [
        f"From the same run ({rows[0]['images']} images of `{r['batch_data']}`):",
        "",
        *table(["workers", "images", "time (s)", "images/s", "megapixels/s", "failed"], "rrrrrr",
               [[str(b["workers"]), str(b["images"]), f"{b['seconds']:.1f}", f"{b['images'] / b['seconds']:.3g}",
                 f"{b['megapixels_per_s']:.3g}", str(b["failed"])] for b in rows]),
    ]
    if len(rows) >= 2:
        # From the times, which the JSON keeps to more digits than the rates.
        ratio = (rows[-1]["images"] / rows[-1]["seconds"]) / (rows[0]["images"] / rows[0]["seconds"])
        lines += ["", f"{rows[-1]['workers']} workers gave {ratio:.2f}x the throughput of {rows[0]['workers']}."]
    return lines


def fuzz(r: dict) -> list[str]:
    rows = []
    for t in r["targets"]:
        found = ", ".join(t["artifacts"]) if t["artifacts"] else "none"
        rate = count(t["executions"] / t["seconds"]) if t["seconds"] else "—"
        rows.append([t["target"], f"`{' '.join(t['options'])}`", count(t["executions"]), str(t["seconds"]), rate,
                     f"{t['coverage']} / {t['features']}",
                     str(t["corpus"]), found])
    return [
        made_by(r, "fuzz.json", f"atheris {r['atheris']}, seeds `fuzz/corpus` and `fuzz/regressions`; time as "
                "libFuzzer counts it, without the interpreter's start"),
        "",
        *table(["target", "options", "executions", "time (s)", "executions/s", "coverage (edges / features)",
                "inputs kept", "crashes, timeouts"], "llrrrrrl", rows),
    ]


def segment_speed(r: dict) -> list[str]:
    if "models" not in r:  # written before every embedded model was timed per megapixel
        rows = [[str(t["torch_threads"]), f"{t['median_s']:.3f}", f"{t['min_s']:.3f}", str(t["runs"]),
                 "met" if t["median_s"] <= r["target_s"] else "not met"] for t in r["threads"]]
        return [
            made_by(r, "segment_speed.json", f"`{r['model']}` on `{r['image']}`, {r['size'][0]}x{r['size'][1]}, no "
                    f"GPU; built in {r['build_s']:.1f} s, then one untimed run per thread count"),
            "",
            *table(["torch threads", "median (s)", "fastest (s)", "runs", f"target: at most {r['target_s']:g} s"],
                   "rrrrl", rows),
        ]
    rows = [[f"`{m['model']}`", f"`{m['image']}` ({m['size'][0]}x{m['size'][1]}, {m['dtype']})", str(t["torch_threads"]),
             f"{t['median_s']:.3f}", f"{t['s_per_mp']:.2f}", str(t["runs"]),
             "met" if t["s_per_mp"] <= r["target_s_per_mp"] else "not met"] for m in r["models"] for t in m["threads"]]
    skipped = "; ".join(f"`{s['model']}` skipped ({s['why']})" for s in r["skipped"])
    return [
        made_by(r, "segment_speed.json", "no GPU; each model built, then one untimed run per thread count"
                + (f"; {skipped}" if skipped else "")),
        "",
        *table(["model", "image", "torch threads", "median (s)", "s per megapixel", "runs",
                f"target: at most {r['target_s_per_mp']:g} s/MP"], "llrrrrl", rows),
    ]


def segment_camvid_report(r: dict) -> list[str]:
    s = r["sets"]["camvid"]
    classes = list(s["IoU"])
    verdicts = [f"mIoU ≥ 0.50: {'met' if s['mIoU'] >= 0.5 else 'not met'} ({s['mIoU']:.3f})",
                f"Car IoU ≥ 0.70: {'met' if s['IoU']['Car'] >= 0.7 else 'not met'} ({s['IoU']['Car']:.3f})"]
    return [
        (f"`{r['model']}` (weights `{r['weights_sha256']}…`) on the {s['images']} frames of CamVid val's report split, "
         f"which chose nothing, scored once by `{r['command']}` "
         "([`results/segmenters/swin-pico-camvid.report.json`](results/segmenters/swin-pico-camvid.report.json)):"),
        "",
        *table([*classes, "**mIoU**"], "r" * (len(classes) + 1),
               [[*(f"{s['IoU'][c]:.3f}" for c in classes), f"**{s['mIoU']:.3f}**"]]),
        "",
        f"Targets: {'; '.join(verdicts)}.",
    ]


def segment_salient_report(r: dict) -> list[str]:
    s = r["sets"]["ecssd"]
    model, box = s["model"], s["centre_box"]
    verdicts = [f"mean IoU ≥ 0.60: {'met' if model['iou'] >= 0.6 else 'not met'} ({model['iou']:.3f})",
                f"≥ the centre box + 0.25 ({box['iou'] + 0.25:.3f}): "
                f"{'met' if model['iou'] >= box['iou'] + 0.25 else 'not met'}",
                f"goal ≥ 0.70: {'met' if model['iou'] >= 0.7 else 'not met'}"]
    decision = f"threshold {r['threshold']}, mirror {'on' if r.get('mirror') else 'off'}"
    if r.get("refine"):
        # Imported here: the timed benchmarks import this module before they time anything.
        from roicodec.segment.grabcut import describe

        decision += f", then {describe(r['refine'])}"
    return [
        (f"`{r['model']}` (weights `{r['weights_sha256']}…`; {decision}) on the {model['images']} photographs of "
         f"ECSSD's report split, which chose nothing, scored once by `{r['command']}` "
         "([`results/segmenters/swin-pico-salient.report.json`](results/segmenters/swin-pico-salient.report.json)):"),
        "",
        *table(["ROI", "mean IoU per image", "IoU of all pixels pooled"], "lrr",
               [[f"`{r['model']}`", f"**{model['iou']:.3f}**", f"{model['pooled_iou']:.3f}"],
                ["a centred box of half the width and height", f"{box['iou']:.3f}", f"{box['pooled_iou']:.3f}"]]),
        "",
        f"Targets: {'; '.join(verdicts)}.",
    ]


def microscopy(r: dict) -> list[str]:
    s = r["summary"]
    ratio, bpp = s["ratio_mean"], s["bpp_mean"]
    peers = [("JPEG XL lossless, effort 7", "jxl_lossless"), ("JPEG 2000 reversible", "jpeg2000_reversible"),
             ("JPEG-LS lossless", "jpegls_lossless"), ("TIFF, zlib", "tiff_zlib")]
    target = s["targets"]
    verdict = ("met" if ratio["jxl_lossless"] <= target["ratio_at_most"] else "not met") + (
        f", goal {target['ratio_goal']:g}x {'met' if ratio['jxl_lossless'] <= target['ratio_goal'] else 'not met'}")
    lines = [
        made_by(r, "microscopy.json", f"{s['images']} images of `{r['data']}`, ROI = labels dilated by {r['dilate']} "
                f"px ({s['roi_fraction_mean']:.1%} of the pixels on average), base model `{r['model']['name']}`, "
                f"ladder `{','.join(r['ladder'])}`"),
        "",
        *table(["whole file", "bits per pixel (mean)", "roicodec's bytes as a share (mean of per-image ratios)"],
               "lrr", [["**roicodec** (base + mask + ROI exact)", f"**{bpp['roicodec']:.3f}**", "1"],
                       *[[label, f"{bpp[key]:.3f}", f"{ratio[key]:.3f}x"] for label, key in peers]]),
        "",
        f"Of roicodec's {bpp['roicodec']:.3f} bpp, the base layer takes {s['base_bpp_mean']:.3f} and the mask "
        f"{s['mask_bpp_mean']:.3f}. ROI pixels exact (uint16, `np.array_equal`): **{s['exact']} of {s['images']}** "
        f"images; background equal to the base at every level: {s['background_is_base']} of {s['images']}. "
        f"Background PSNR (peak = the image's maximum): mean **{s['background_psnr']['mean']:.2f} dB**, lowest "
        f"{s['background_psnr']['min']:.2f} dB (target: at least {target['background_psnr_at_least']:g} dB). "
        f"Largest per-image ratio against JPEG XL lossless: {s['ratio_vs_jxl_lossless_max']:.3f}x. Target "
        f"{target['ratio_at_most']:g}x: {verdict}. Median time per image: encode {s['encode_s_median']:.2f} s, "
        f"decode {s['decode_s_median']:.2f} s.",
    ]
    if s["near"]:
        lines += [
            "",
            f"Near-lossless, on the first {s['near'][0]['images']} images: roicodec with `--max-error K` against "
            "JPEG XL lossy (effort 7) at the largest distance whose ROI error stays within K:",
            "",
            *table(["K (native units)", "roicodec bpp", "JPEG XL lossy bpp", "JPEG XL lossless bpp",
                    "roicodec / JPEG XL lossy", "roicodec within K"], "rrrrrr",
                   [[str(n["max_error"]), f"{n['roicodec_bpp']:.3f}", f"{n['jxl_lossy_bpp']:.3f}",
                     f"{n['jxl_lossless_bpp']:.3f}", f"{n['ratio_vs_jxl_lossy']:.3f}x",
                     f"{n['within_bound']} of {n['images']}"] for n in s["near"]]),
        ]
    return lines


@dataclass(frozen=True)
class Block:
    page: str
    source: str
    render: Callable[[dict], list[str]]


def colour_cast(r: dict) -> list[str]:
    rows = []
    for m in r["models"]:
        for part, label in (("all", "all"), ("interior", f"{r['border']} px from the edge or more")):
            e = m[part]["mean_error"]
            verdict = "yes" if m[part]["worst_channel"] <= r["target_abs"] else "no"
            # Older runs measured the base models alone and no tint, PSNR or rate.
            first = part == "all" and "psnr" in m
            name = f"`{m['model']}`" if m.get("kind", "base") == "base" else m["model"]
            rows.append([name if part == "all" else "", f"{m['psnr']:.2f}" if first else "",
                         f"{m['bpp']:.3f}" if first else "", label, count(m[part]["pixels"]),
                         *(f"{v:+.2f}" for v in e), f"{m[part]['tint']:.2f}" if "tint" in m[part] else "", verdict])
    return [
        made_by(r, "colour_cast.json", f"Kodak, base layer alone and Pillow's JPEG and AVIF beside it; pixels whose "
                f"channels are all below {r['dark_below']} and differ by less than {r['spread_below']}"),
        "",
        *table(["model", "PSNR (dB)", "bpp", "which pixels", "count", "R", "G", "B", "tint",
                f"within ±{r['target_abs']:g}"], "lrrlrrrrrl", rows),
    ]


BLOCKS = {
    "hook_cost": Block("pillow.md", "hook_cost.json", hook_cost),
    "colour_cast": Block("colour_cast.md", "colour_cast.json", colour_cast),
    "thumbnail_speed": Block("pillow.md", "thumbnail_speed.json", thumbnail_speed),
    "read_speed": Block("reading.md", "read_speed.json", read_speed),
    "read_agreement": Block("reading.md", "read_speed.json", read_agreement),
    "scaling_planes": Block("scaling.md", "scaling.json", scaling_planes),
    "scaling_trim": Block("scaling.md", "scaling.json", scaling_trim),
    "scaling_batch": Block("scaling.md", "scaling.json", scaling_batch),
    "fuzz": Block("robustness.md", "fuzz.json", fuzz),
    "segment_speed": Block("segment.md", "segment_speed.json", segment_speed),
    "segment_camvid_report": Block("segment.md", "segmenters/swin-pico-camvid.report.json", segment_camvid_report),
    "segment_salient_report": Block("segment.md", "segmenters/swin-pico-salient.report.json", segment_salient_report),
    "microscopy": Block("microscopy.md", "microscopy.json", microscopy),
}
"""Every block, by the name its markers carry: the page it sits in, the JSON in docs/results/ it is made from."""


# ------------------------------------------------------------------------------------------------------ pages


def _load(source: str) -> dict:
    return json.loads((RESULTS / source).read_text())


def render_page(text: str, page: str, load: Callable[[str], dict], blocks: dict[str, Block] | None = None,
                only: set[str] | None = None) -> str:
    """``text`` with every block of ``page`` (or those named in ``only``) remade from its JSON, and nothing else
    touched. A block registered for the page but missing from it, or a marker whose name is not registered, is an
    error: either would leave figures that nothing remakes."""
    blocks = BLOCKS if blocks is None else blocks
    wanted = {name for name, block in blocks.items() if block.page == page}
    found = [m["name"] for m in BLOCK.finditer(text)]
    if stray := set(found) - wanted:
        raise ValueError(f"{page}: markers with no block of that name here: {', '.join(sorted(stray))}")
    if missing := wanted - set(found):
        raise ValueError(f"{page}: no markers for {', '.join(sorted(missing))}")

    def remade(match: re.Match) -> str:
        name = match["name"]
        if only is not None and name not in only:
            return match[0]
        block = blocks[name]
        body = "\n".join(block.render(load(block.source)))
        return (f"<!-- begin {name}: made by benchmarks/pages.py from results/{block.source} -->\n{body}\n"
                f"<!-- end {name} -->")

    return BLOCK.sub(remade, text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 where a page differs from its JSON")
    args = ap.parse_args()
    stale = []
    for page in sorted({block.page for block in BLOCKS.values()}):
        path = DOCS / page
        old = path.read_text()
        new = render_page(old, page, _load)
        if new != old:
            stale.append(page)
            if not args.check:
                path.write_text(new)
    if args.check and stale:
        sys.exit(f"not what their JSON gives: {', '.join(stale)} (python benchmarks/pages.py remakes them)")
    print(("remade: " + ", ".join(stale)) if stale else "every page matches its JSON")


if __name__ == "__main__":
    main()

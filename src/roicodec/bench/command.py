"""``roicodec bench``: run the sweep and the speed test, then write the JSON, the figures and the results page.

    roicodec bench --data ../shared/data/kodak --out docs/results
    python -m roicodec.bench --data ../shared/data/kodak --out docs/results

The page goes next to the output folder, named after it (``docs/results`` -> ``docs/results.md``), unless ``--page``
says otherwise. ``--report-only`` remakes the tables, figures and page from the JSON already in the output folder.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from roicodec.bench import data

DEFAULT_SIZES = "full,192x256"


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="roicodec bench", description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="folder of images (every PNG, JPEG, TIFF, BMP, PPM or WebP in it)")
    ap.add_argument("--out", type=Path, required=True, help="folder for rows.jsonl, the other JSON and the PNGs")
    ap.add_argument("--page", type=Path, help="the Markdown page to write (default: the output folder's name + .md)")
    ap.add_argument("--roi", choices=data.ROI_SOURCES, default="centre",
                    help="ROI source: centre = the central rectangle of half the width and height (default), "
                         "masks = --masks DIR, auto = the segmenter if installed")
    ap.add_argument("--masks", type=Path, help="folder with one PNG per image, same stem, non-zero = ROI")
    ap.add_argument("--sizes", default=DEFAULT_SIZES,
                    help=f"comma-separated: full and/or HEIGHTxWIDTH centre crops (default {DEFAULT_SIZES})")
    ap.add_argument("--limit", type=int, help="code only the first N images (a quick look, not a result)")
    ap.add_argument("--base-models", help="comma-separated base models whose base layer is coded alone and timed "
                                          "(default: every installed one, `roicodec.models.registry.available()`)")
    ap.add_argument("--speed-images", type=int, default=6, help="images timed for the speed table (default 6)")
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per codec and image (default 5)")
    ap.add_argument("--report-only", action="store_true", help="remake tables, figures and page from the JSON")
    return ap


def _versions() -> dict[str, str]:
    from PIL import Image, features

    import roicodec

    def pkg(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    torch = sys.modules.get("torch")
    return {"roicodec": roicodec.__version__, "pillow": Image.__version__,
            "libjpeg_turbo": features.version("libjpeg_turbo") or "n/a",
            "openjpeg": features.version("jpg_2000") or "n/a", "libwebp": features.version("webp") or "n/a",
            "libavif": features.version("avif") or "n/a", "scikit-image": pkg("scikit-image"),
            "bjontegaard": pkg("bjontegaard"), "numpy": np.__version__,
            "torch": torch.__version__ if torch else pkg("torch"), "python": platform.python_version()}


def _notes(sizes: list[str], roi: data.RoiSource, masks: Path | None) -> dict[str, str]:
    crops = [s for s in sizes if s != data.FULL]
    crop_note = "; ".join(
        f"{s} as centre crops: the central {h} pixels high x {w} wide of each image, portrait images cropped the "
        "same way (not rotated), so every crop has one shape" for s, (h, w) in
        ((s, data.parse_size(s)) for s in crops)) or "no crops in this run"
    roi_note = {
        "centre": "no masks come with these images, so the ROI is the documented fallback: the central rectangle of "
                  "half the width and half the height (rows h/4 to 3h/4, columns w/4 to 3w/4 of the image as coded, "
                  "crop or not), as tests/test_kodak.py uses. `--masks DIR` takes one PNG per image instead "
                  "(non-zero = ROI), `--roi auto` the segmenter where it is installed.",
        "masks": f"one PNG per image from `{masks}` (non-zero = ROI), drawn at full size; crops take their part.",
        "auto": "the segmenter's mask (`roicodec.segment.roi_mask`) of each image as coded.",
    }[roi.name]
    return {"crop_note": crop_note + ".", "roi_note": roi_note}


def _warm_up(codecs: list[Any]) -> None:
    """Load weights, torch and Pillow's plugins before anything is timed."""
    ramp = np.linspace(0, 255, 64 * 64 * 3).astype(np.uint8).reshape(64, 64, 3)
    mask = np.zeros((64, 64), bool)
    mask[16:48, 16:48] = True
    for codec in codecs:
        for job in codec.jobs:  # every job: the base layers' jobs are models
            streams = codec.encode(ramp, mask, job)
            codec.decode(streams[-1])


def run(args: argparse.Namespace, argv: list[str], out: Path, page: Path, started: float) -> dict[str, Any]:
    """The sweep and the speed test: rows.jsonl, speed.json and meta.json in ``out``."""
    from roicodec.bench import codecs, published, speed
    from roicodec.bench.run import sweep
    from roicodec.models import registry

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    for s in sizes:
        data.parse_size(s)
    if args.data is None:
        raise ValueError("--data DIR is needed unless --report-only")
    paths = data.image_paths(args.data)[:args.limit]
    roi = data.roi_source(args.roi, args.masks)
    installed = registry.available()
    models = tuple(installed) if args.base_models is None else tuple(
        m.strip() for m in args.base_models.split(",") if m.strip())
    unknown = [m for m in models if m not in installed]
    if unknown:
        raise ValueError(f"no base model named {', '.join(unknown)}; installed: {', '.join(installed)}")
    coders = codecs.default_codecs(models)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    _warm_up(coders)
    out.mkdir(parents=True, exist_ok=True)
    part = out / "rows.jsonl.part"
    print(f"sweep: {len(paths)} images x {len(sizes)} sizes x {len(coders)} codecs", file=sys.stderr)
    with part.open("w") as f:
        rows = sweep(data.items(paths, sizes, roi), coders, f)
    part.replace(out / "rows.jsonl")
    swept = time.perf_counter()

    speed_size = data.FULL if data.FULL in sizes else sizes[0]
    timed = list(data.items(paths[:args.speed_images], [speed_size], roi))
    speed_rows = speed.measure(timed, args.repeats, models=models)
    (out / "speed.json").write_text(json.dumps(speed_rows, indent=1) + "\n")
    timed_at = time.perf_counter()

    model = registry.info()
    torch = sys.modules.get("torch")
    meta = {
        "args": argv, "date": datetime.date.today().isoformat(),
        "data": str(args.data), "images": len(paths), "sizes": sizes, "roi": roi.name, "rows": rows,
        "out_name": os.path.relpath(out, page.parent), "model": {"name": model.name, "hash": model.hash.hex()},
        "base_models": {m: installed[m].hash.hex() for m in models},
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, load average {load:.1f} at the start",
        "torch_threads": torch.get_num_threads() if torch else None, "versions": _versions(),
        "codecs": {c.name: c.description for c in coders},
        "published": published.as_json(), **_notes(sizes, roi, args.masks),
        "times": {"sweep_s": swept - started, "speed_s": timed_at - swept},
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    return meta


def report(out: Path, page: Path, meta: dict[str, Any], started: float | None) -> None:
    """Summary, figures and page from the JSON in ``out``; with ``started``, the run's wall time goes on the page."""
    from roicodec.bench import analysis, plots
    from roicodec.bench.report import render
    from roicodec.bench.run import read_rows

    paper = {int(k): v for k, v in meta["published"]["paper_ratios"].items()}
    summary = analysis.summarise(read_rows(out / "rows.jsonl"), paper)
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    speed_rows = json.loads((out / "speed.json").read_text())
    rel = os.path.relpath(out, page.parent)
    figures = {"ratios": f"{rel}/ratios.png"}
    label = Path(meta["data"]).name
    for size, s in summary.items():
        name = f"rd_{size}.png"
        extra = s["ratios"]["paper_fit_quality"]["quality"]
        plots.rd_figure(s["points"], s["match"]["base_quality"], extra,
                        f"{label}, {size}: {meta['images']} images, ROI {meta['roi']}", out / name)
        figures[size] = f"{rel}/{name}"
    plots.ratio_figure(summary, paper, label, out / "ratios.png")
    figures_base = {}
    for size, s in summary.items():
        if s.get("base_layer"):
            name = f"base_{size}.png"
            plots.base_figure(s["points"], f"{label}, {size}: base layers alone, {meta['images']} images",
                              out / name)
            figures_base[size] = f"{rel}/{name}"
    figures["base"] = figures_base
    if started is not None:
        meta["times"]["report_s"] = time.perf_counter() - started - sum(meta["times"].values())
        meta["times"]["total_s"] = time.perf_counter() - started
        (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    page.write_text(render(summary, speed_rows, meta, figures))


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``roicodec bench`` and ``python -m roicodec.bench``; returns the exit status."""
    started = time.perf_counter()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _parser().parse_args(argv)
    out = args.out
    page = args.page or out.with_suffix(".md")
    try:
        if args.report_only:
            meta = json.loads((out / "meta.json").read_text())
            report(out, page, meta, None)
        else:
            meta = run(args, argv, out, page, started)
            report(out, page, meta, started)
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"roicodec bench: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {page} and {out}/ (rows.jsonl, speed.json, summary.json, meta.json, PNGs)", file=sys.stderr)
    return 0

"""Each base model alone against Pillow's JPEG on Kodak: writes docs/results/base_vs_jpeg.json and docs/base_layer.md.

Every installed base model (``roicodec.models.registry``) is measured, the paper's autoencoder and the
rate-distortion family side by side. Two sizes: the full 768x512 images and the paper's 192x256 centre crops. The base layer is coded with no enhancement
layer (``qualities=()``), so its bpp counts every byte of a complete base-only ``.roi`` file. JPEG runs over a quality
sweep with Pillow's defaults and with ``optimize=True``; the JPEG rate that matches the base layer's mean PSNR comes
from linear interpolation in PSNR between neighbouring qualities of the mean curve.

    python benchmarks/base_vs_jpeg.py [--data ../shared/data/kodak]
"""

from __future__ import annotations

import argparse
import datetime
import io
import itertools
import json
import platform
import shlex
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

import roicodec
from roicodec.bench.data import centre_crop
from roicodec.metrics import bpp, psnr
from roicodec.models import registry

REPO = Path(__file__).resolve().parents[1]
JPEG_QUALITIES = (*range(1, 31), 40, 50, 60, 75, 90)
JPEG_SETTINGS = {"jpeg-default": {}, "jpeg-optimize": {"optimize": True}}
CROP = (192, 256)  # height, width, as in the paper
SIZES = ("full", f"{CROP[0]}x{CROP[1]}")


def jpeg(rgb: np.ndarray, quality: int, options: dict) -> tuple[int, np.ndarray]:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality, **options)
    buf.seek(0)
    return buf.getbuffer().nbytes, np.asarray(Image.open(buf).convert("RGB"))


def row(size: str, image: str, rgb: np.ndarray, codec: str, quality: int | None, nbytes: int,
        decoded: np.ndarray) -> dict:
    h, w = rgb.shape[:2]
    return {"size": size, "image": image, "width": w, "height": h, "codec": codec, "quality": quality,
            "bytes": nbytes, "bpp": bpp(nbytes, w, h), "psnr": psnr(rgb, decoded)}


def measure(paths: list[Path], models: list[str]) -> list[dict]:
    rows = []
    for path in paths:
        full = np.asarray(Image.open(path).convert("RGB"))
        for size, rgb in zip(SIZES, (full, centre_crop(full, CROP)), strict=True):
            for model in models:
                data = roicodec.encode(rgb, qualities=(), model=model)
                rows.append(row(size, path.name, rgb, f"base:{model}", None, len(data), roicodec.decode(data, 0)))
            for codec, options in JPEG_SETTINGS.items():
                for q in JPEG_QUALITIES:
                    rows.append(row(size, path.name, rgb, codec, q, *jpeg(rgb, q, options)))
        print(f"  {path.name}", file=sys.stderr, flush=True)
    return rows


def means(rows: list[dict]) -> dict:
    """Mean bpp and PSNR per (size, codec, quality), averaged over images (PSNR per image first, docs/measures.md)."""
    groups = defaultdict(list)
    for r in rows:
        groups[r["size"], r["codec"], r["quality"]].append(r)
    return {key: {"bpp": float(np.mean([r["bpp"] for r in g])), "psnr": float(np.mean([r["psnr"] for r in g])),
                  "images": len(g)} for key, g in groups.items()}


def matched_bpp(curve: list[tuple[int, float, float]], target: float) -> dict:
    """JPEG bpp at ``target`` PSNR on a (quality, bpp, psnr) curve sorted by quality, or why there is none."""
    for (q0, b0, p0), (q1, b1, p1) in itertools.pairwise(curve):
        if min(p0, p1) <= target <= max(p0, p1) and p0 != p1:
            t = (target - p0) / (p1 - p0)
            return {"bpp": b0 + t * (b1 - b0), "between": [q0, q1]}
    q, b, p = curve[0]
    if target < p:
        return {"bpp": None, "note": f"below JPEG's lowest quality (q{q}: {p:.2f} dB at {b:.3f} bpp)"}
    q, b, p = curve[-1]
    return {"bpp": None, "note": f"above JPEG's highest quality in the sweep (q{q}: {p:.2f} dB)"}


def summarise(avg: dict, models: list[str]) -> dict:
    """Per size and model: the base layer's mean bpp and PSNR, and JPEG's bpp at that PSNR."""
    out: dict = {}
    for size in SIZES:
        out[size] = {}
        for model in models:
            base = avg[size, f"base:{model}", None]
            entry = {"base": base, "jpeg": {}}
            for codec in JPEG_SETTINGS:
                curve = [(q, avg[size, codec, q]["bpp"], avg[size, codec, q]["psnr"]) for q in JPEG_QUALITIES]
                m = matched_bpp(curve, base["psnr"])
                m["ratio"] = None if m["bpp"] is None else m["bpp"] / base["bpp"]
                entry["jpeg"][codec] = m
            out[size][model] = entry
    return out


def meaning(summary: dict, model: str) -> str:
    """One sentence read off the numbers, so that the page never claims what the run did not show."""
    parts = []
    for size in SIZES:
        m = summary[size][model]["jpeg"]["jpeg-optimize"]
        label = "full-size Kodak" if size == "full" else f"the {size} crops"
        if m["ratio"] is None:
            parts.append(f"on {label} no JPEG quality matches the base layer's PSNR ({m['note']})")
        elif m["ratio"] >= 1:
            parts.append(f"on {label} optimised JPEG needs {m['ratio']:.2f}x the base layer's rate "
                         f"(the base saves {100 * (1 - 1 / m['ratio']):.0f} %)")
        else:
            parts.append(f"on {label} optimised JPEG needs only {m['ratio']:.2f}x the base layer's rate "
                         f"(the base costs {100 * (1 / m['ratio'] - 1):.0f} % more)")
    return (f"`{model}`: at equal PSNR, " + "; ".join(parts) + ".")


def render(avg: dict, summary: dict, meta: dict, models: list[str]) -> str:
    same = all(avg[size, "jpeg-default", q]["psnr"] == avg[size, "jpeg-optimize", q]["psnr"]
               for size in SIZES for q in JPEG_QUALITIES)
    same_pixels = ": the same pixels in this run, fewer bytes" if same else ""
    lines = [
        "# Base layer against JPEG on Kodak",
        "",
        f"Made by `{meta['command']}` on {meta['date']} (roicodec {meta['roicodec']}, Pillow {meta['pillow']}, "
        f"{meta['images']} Kodak images; base models "
        + ", ".join(f"`{name}` hash `{digest}`" for name, digest in meta["models"].items())
        + "). Raw per-image rows: [`results/base_vs_jpeg.json`](results/base_vs_jpeg.json).",
        "",
        ("Each base layer is coded alone (`roicodec.encode(image, qualities=(), model=name)`): its bpp counts every "
        "byte of the "
        "base-only `.roi` file, headers included, and its PSNR is that of `decode(0)`. JPEG is Pillow's, with its "
        f"default settings and with `optimize=True` (optimised Huffman tables{same_pixels}). PSNR is on "
        "8-bit RGB, per image, then averaged; bpp is averaged the same way."),
        "",
        (f"The {SIZES[1]} set takes the centre {CROP[0]} pixels high x {CROP[1]} wide of each image; the portrait "
        "images (512 wide x 768 high) are cropped the same way, not rotated, so every crop has the same shape."),
        "",
        "## Matched PSNR",
        "",
        ("JPEG bpp at the base layer's mean PSNR, interpolated linearly in PSNR between the neighbouring qualities of "
        "the mean JPEG curve; the ratio is JPEG bpp / base bpp (above 1: the base layer is cheaper). A like-for-like "
        "comparison, unlike the paper's headline ratio, which compares unequal qualities."),
        "",
        "| size | model | base bpp | base PSNR (dB) | JPEG default bpp | ratio | JPEG optimize bpp | ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for size, model in ((size, model) for size in SIZES for model in models):
        s = summary[size][model]
        cells = []
        for codec in JPEG_SETTINGS:
            m = s["jpeg"][codec]
            if m["bpp"] is None:
                cells += [m["note"], "n/a"]
            else:
                cells += [f"{m['bpp']:.3f} (q{m['between'][0]}-q{m['between'][1]})", f"{m['ratio']:.2f}"]
        lines.append(f"| {size} | `{model}` | {s['base']['bpp']:.3f} | {s['base']['psnr']:.2f} | "
                     + " | ".join(cells) + " |")
    lines += ["", *(f"- {meaning(summary, model)}" for model in models), ""]
    for size in SIZES:
        title = "Full size (768x512 and 512x768)" if size == "full" else f"{size} centre crops"
        lines += [
            f"## {title}",
            "",
            "Base layers: " + "; ".join(f"`{model}` **{avg[size, f'base:{model}', None]['bpp']:.3f} bpp, "
                                        f"{avg[size, f'base:{model}', None]['psnr']:.2f} dB**" for model in models)
            + ".",
            "",
            "| JPEG quality | default bpp | default PSNR (dB) | optimize bpp | optimize PSNR (dB) |",
            "|---:|---:|---:|---:|---:|",
        ]
        for q in JPEG_QUALITIES:
            d, o = avg[size, "jpeg-default", q], avg[size, "jpeg-optimize", q]
            lines.append(f"| {q} | {d['bpp']:.3f} | {d['psnr']:.2f} | {o['bpp']:.3f} | {o['psnr']:.2f} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=REPO / "../shared/data/kodak", help="folder of the Kodak PNGs")
    ap.add_argument("--out", type=Path, default=REPO / "docs", help="where base_layer.md and results/ go")
    ap.add_argument("--models", help="comma-separated base model names (default: every installed one)")
    args = ap.parse_args()
    paths = sorted(args.data.resolve().glob("kodim*.png"))
    if not paths:
        ap.error(f"no kodim*.png in {args.data}")

    # Looked up before coding so that the page names the weights the run actually used.
    installed = registry.available()
    models = args.models.split(",") if args.models else list(installed)
    for model in models:
        registry.info(model)  # an unknown name fails here, before minutes of coding
    rows = measure(paths, models)
    avg = means(rows)
    summary = summarise(avg, models)
    meta = {
        "command": shlex.join(["python", "benchmarks/base_vs_jpeg.py", *sys.argv[1:]]),
        "date": datetime.date.today().isoformat(),
        "roicodec": roicodec.__version__,
        "models": {model: installed[model].hash.hex() for model in models},
        "pillow": Image.__version__,
        "python": platform.python_version(),
        "images": len(paths),
        "jpeg_qualities": list(JPEG_QUALITIES),
    }
    (args.out / "results").mkdir(parents=True, exist_ok=True)
    json_summary = summary
    # One row per line keeps the file small and its diffs readable when the weights change.
    head = json.dumps({"meta": meta, "summary": json_summary}, indent=1)[:-2]
    body = ",\n".join(json.dumps(r, separators=(",", ":")) for r in rows)
    (args.out / "results" / "base_vs_jpeg.json").write_text(f'{head},\n "rows": [\n{body}\n]}}\n')
    (args.out / "base_layer.md").write_text(render(avg, summary, meta, models))
    print(json.dumps(json_summary, indent=2))


if __name__ == "__main__":
    main()

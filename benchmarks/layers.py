"""The enhancement layers of format 1.1 against the paper's JPEG ladder: rate, ROI quality, exactness and speed.

On full-size Kodak and the BSDS500 test split, with the bench's base (the default model) and its ROI (the centre
half of each side), every image is coded with the default ladder and with the paper's (``--ladder paper``):

- per level, mean cumulative bpp (every byte of the file up to the level), ROI-PSNR and ROI-SSIM;
- the ROI-PSNR BD-rate of the default ladder's lossy levels against the paper's levels 1 and 2, and the whole-file
  bytes of the exact top level against the paper's q100 level;
- exactness: on every Kodak image and the first ``--exact-images`` BSDS500 test images, RGB and gray, and a stack,
  the top level's ROI pixels against the original, decoded here and in fresh processes at 1 and 2 torch threads;
  ``max_error`` 1, 2 and 4 checked on every ROI pixel, with bytes against the exact level;
- encode and decode time of the layers (the file's time less the base's) against Pillow's JPEG of the same boxes.

Writes ``docs/results/layers.json`` and the page ``docs/layers.md`` from it (``--report-only`` remakes the page).

    python benchmarks/layers.py [--data ../shared/data] [--bsds-limit 200] [--exact-images 20]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import roicodec
from roicodec import metrics, options
from roicodec.bench.data import centre_roi

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "results" / "layers.json"
PAGE = ROOT / "docs" / "layers.md"
LADDERS = ("paper", options.DEFAULT_LADDER)
NEAR = (1, 2, 4)


def _load(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _levels(image: np.ndarray, mask: np.ndarray, ladder: str) -> tuple[list[dict], float, float]:
    t0 = time.perf_counter()
    data = roicodec.encode(image, mask, ladder=ladder)
    encode_s = time.perf_counter() - t0
    with roicodec.open(data) as f:
        t0 = time.perf_counter()
        levels = f.decode_all()
        decode_s = time.perf_counter() - t0
        rows = [{"bpp": i.bpp, "roi_psnr": metrics.psnr(image, x, mask), "roi_ssim": metrics.ssim(image, x, mask),
                 "exact": bool(np.array_equal(x[mask], image[mask]))} for i, x in zip(f.level_info, levels)]
    return rows, encode_s, decode_s


def _base_times(image: np.ndarray) -> tuple[float, float]:
    t0 = time.perf_counter()
    data = roicodec.encode(image, ladder=())
    encode_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    roicodec.decode(data)
    return encode_s, time.perf_counter() - t0


def _jpeg_times(box: np.ndarray) -> tuple[float, float]:
    """Pillow's JPEG of the ROI box at quality 90, 4:4:4: the peer the layers' time is set against."""
    t0 = time.perf_counter()
    buf = io.BytesIO()
    Image.fromarray(box).save(buf, "JPEG", quality=90, subsampling=0)
    encode_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    np.asarray(Image.open(io.BytesIO(buf.getvalue())))
    return encode_s, time.perf_counter() - t0


def rate_distortion(paths: list[Path]) -> dict:
    per = {ladder: [] for ladder in LADDERS}
    times = {"layers_encode_s": [], "layers_decode_s": [], "jpeg_encode_s": [], "jpeg_decode_s": []}
    for path in paths:
        image = _load(path)
        mask = centre_roi(path, image)
        h, w = mask.shape
        box = np.ascontiguousarray(image[h // 4:3 * h // 4, w // 4:3 * w // 4])
        base_enc, base_dec = _base_times(image)
        for ladder in LADDERS:
            rows, enc, dec = _levels(image, mask, ladder)
            per[ladder].append(rows)
            if ladder == options.DEFAULT_LADDER:
                times["layers_encode_s"].append(enc - base_enc)
                times["layers_decode_s"].append(dec - base_dec)
        jpeg_enc, jpeg_dec = _jpeg_times(box)
        times["jpeg_encode_s"].append(jpeg_enc)
        times["jpeg_decode_s"].append(jpeg_dec)
        print(f"{path.name}: " + "; ".join(f"{lad} {per[lad][-1][-1]['bpp']:.3f} bpp" for lad in LADDERS), flush=True)
    out: dict = {"images": len(paths), "ladders": {}}
    for ladder, rows in per.items():
        out["ladders"][ladder] = {
            "layers": list(options.LADDERS[ladder]),
            "levels": [{key: float(np.mean([r[k][key] for r in rows])) for key in ("bpp", "roi_psnr", "roi_ssim")}
                       for k in range(len(rows[0]))],
            "exact_images": int(sum(r[-1]["exact"] for r in rows)),
        }
    paper, new = (out["ladders"][lad]["levels"] for lad in LADDERS)
    out["lossy_bd_rate_percent"] = metrics.bd_rate([p["bpp"] for p in paper[1:3]], [p["roi_psnr"] for p in paper[1:3]],
                                                   [n["bpp"] for n in new[1:3]], [n["roi_psnr"] for n in new[1:3]])
    out["exact_bytes_over_paper_q100"] = new[3]["bpp"] / paper[3]["bpp"]
    out["times"] = {k: statistics.median(v) for k, v in times.items()}
    return out


CHILD = r"""
import sys, numpy as np, torch, roicodec
torch.set_num_threads(int(sys.argv[1]))
bad = []
for path in sys.argv[2:]:
    with roicodec.open(path) as f:
        top = f.decode()
        want = np.load(path + ".npz")
        if not np.array_equal(top[want["mask"]], want["roi"]):
            bad.append(path)
print(len(sys.argv) - 2 - len(bad))
"""


def exactness(paths: list[Path]) -> dict:
    """Every image as RGB and gray, plus one stack of gray planes, written here and checked in fresh processes."""
    near_bytes = {k: [] for k in NEAR}
    near_ok = {k: 0 for k in NEAR}
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        stack = []
        for i, path in enumerate(paths):
            rgb = _load(path)
            mask = centre_roi(path, rgb)
            gray = np.asarray(Image.fromarray(rgb).convert("L"))
            stack.append(gray[:256, :256])
            for name, image in (("rgb", rgb), ("gray", gray)):
                target = Path(tmp) / f"{i}-{name}.roi"
                roicodec.encode(image, mask, target)
                np.savez(f"{target}.npz", roi=image[mask], mask=mask)
                files.append(str(target))
                exact = target.stat().st_size
                for k in NEAR:
                    data = roicodec.encode(image, mask, max_error=k)
                    top = roicodec.decode(data)
                    near_ok[k] += int(np.abs(top.astype(int) - image)[mask].max() <= k)
                    near_bytes[k].append(len(data) / exact)
        planes = np.stack(stack[:8])
        masks = planes > np.median(planes)
        target = Path(tmp) / "stack.roi"
        roicodec.encode(planes, masks, target)
        np.savez(f"{target}.npz", roi=planes[masks], mask=masks)
        files.append(str(target))
        here = 0
        for path in files:
            with roicodec.open(path) as f:
                want = np.load(path + ".npz")
                here += int(np.array_equal(f.decode()[want["mask"]], want["roi"]))
        fresh = {}
        for threads in (1, 2):
            run = subprocess.run([sys.executable, "-c", CHILD, str(threads), *files], capture_output=True, text=True,
                                 check=True, timeout=3600)
            fresh[f"{threads}_threads"] = int(run.stdout.split()[-1])
    return {"files": len(files), "exact_here": here, "exact_fresh_process": fresh,
            "near": {str(k): {"bound_held_files": near_ok[k], "of": 2 * len(paths),
                              "bytes_over_exact": float(np.mean(near_bytes[k]))} for k in NEAR}}


def render(result: dict) -> str:
    lines = ["# Enhancement layers: the default ladder against the paper's",
             "",
             f"Made by `python benchmarks/layers.py` ({result['command_seconds'] / 60:.0f} minutes here) from "
             "[`results/layers.json`](results/layers.json). Base: the default model; ROI: the centre half of each "
             "side (the bench's); bpp counts every byte of the file up to the level (docs/measures.md). The "
             f"default ladder is `{','.join(options.LADDERS[options.DEFAULT_LADDER])}`: AVIF residuals (10-bit, "
             "4:4:4) and the ROI exactly (JPEG XL lossless of the ROI's pixels, checked by their SHA-256); the "
             "paper's is JPEG 75, 90, 100 of the residual.", ""]
    for name, rd in result["sets"].items():
        lines += [f"## {name} ({rd['images']} images)", "",
                  "| level | paper: bpp | ROI-PSNR | ROI-SSIM | default: layer | bpp | ROI-PSNR | ROI-SSIM |",
                  "|---:|---:|---:|---:|---|---:|---:|---:|"]
        paper, new = (rd["ladders"][lad] for lad in LADDERS)
        names = ["base", *new["layers"]]
        for k, (p, n) in enumerate(zip(paper["levels"], new["levels"])):
            psnr = "exact" if k == 3 and new["exact_images"] == rd["images"] else f"{n['roi_psnr']:.2f}"
            lines.append(f"| {k} | {p['bpp']:.3f} | {p['roi_psnr']:.2f} | {p['roi_ssim']:.4f} | {names[k]} | "
                         f"{n['bpp']:.3f} | {psnr} | {n['roi_ssim']:.4f} |")
        t = rd["times"]
        lines += ["",
                  f"- ROI-PSNR BD-rate of the default's lossy levels against the paper's levels 1-2: "
                  f"**{rd['lossy_bd_rate_percent']:+.1f} %** (bjontegaard, PCHIP, over their common range).",
                  f"- The exact top level takes **{rd['exact_bytes_over_paper_q100']:.3f}x** the whole-file bytes of "
                  f"the paper's q100 level, which is not exact ({paper['levels'][3]['roi_psnr']:.1f} dB); "
                  f"{new['exact_images']} of {rd['images']} top levels equal the original in the ROI.",
                  f"- Layers' time per image (the file's less the base's, medians): encode {t['layers_encode_s']:.2f} s, "
                  f"decode {t['layers_decode_s']:.3f} s; Pillow's JPEG (q90, 4:4:4) of the same box: encode "
                  f"{t['jpeg_encode_s'] * 1e3:.1f} ms, decode {t['jpeg_decode_s'] * 1e3:.1f} ms, so the layers decode "
                  f"in {t['layers_decode_s'] / t['jpeg_decode_s']:.0f}x and encode in "
                  f"{t['layers_encode_s'] / t['jpeg_encode_s']:.0f}x JPEG's time.", ""]
    ex = result["exactness"]
    lines += ["## Exactness", "",
              f"{ex['files']} files (every Kodak image and {result['exact_bsds']} BSDS500 test images, each RGB and "
              "gray, and a stack of 8 gray planes with a mask per plane): the top level's ROI pixels equal the "
              f"original's in {ex['exact_here']} here, and in {ex['exact_fresh_process']['1_threads']} and "
              f"{ex['exact_fresh_process']['2_threads']} decoded in fresh processes with torch at 1 and 2 threads.",
              "",
              "| max_error | every ROI pixel within it | bytes against the exact file |", "|---:|---:|---:|"]
    for k, n in ex["near"].items():
        lines.append(f"| {k} | {n['bound_held_files']} of {n['of']} files | {n['bytes_over_exact']:.3f}x |")
    lines += ["", "A damaged exact layer is an error, never wrong pixels: tests/test_layer_codecs.py. How the ladder and "
              "the codecs' settings were chosen: [`format.md`](format.md) lists the layer kinds; AVIF speed 3 and "
              "JPEG XL effort 8 (`roicodec/layer_codecs.py`) were chosen on the first 8 Kodak images against speeds "
              "2 and 4 and efforts 7 and 9, as were the AVIF qualities and 10 against 8 bits.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / ".." / "shared" / "data")
    parser.add_argument("--kodak-limit", type=int, help="first N Kodak images only (a quick look; not for the page)")
    parser.add_argument("--bsds-limit", type=int, default=200)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--page", type=Path, default=PAGE)
    parser.add_argument("--exact-images", type=int, default=20)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--exactness-only", action="store_true", help="run the exactness part again, keeping the "
                        "rate-distortion part of --out")
    args = parser.parse_args()
    if args.report_only:
        args.page.write_text(render(json.loads(args.out.read_text())))
        return
    t0 = time.perf_counter()
    kodak = sorted((args.data / "kodak").glob("kodim*.png"))[:args.kodak_limit]
    bsds = sorted((args.data / "bsds500" / "test").glob("*.jpg"))
    if args.exactness_only:
        result = json.loads(args.out.read_text())
        seconds = result["command_seconds"] - result.get("exactness_seconds", 0)
    else:
        result = {"sets": {"Kodak, full size": rate_distortion(kodak),
                           "BSDS500 test": rate_distortion(bsds[:args.bsds_limit])},
                  "threads": int(os.environ.get("OMP_NUM_THREADS", "0")) or None}
        seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    result.update(exactness=exactness([*kodak, *bsds[:args.exact_images]]), exact_bsds=args.exact_images)
    result["exactness_seconds"] = time.perf_counter() - t1
    result["command_seconds"] = seconds + result["exactness_seconds"]
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    args.page.write_text(render(result))
    print(json.dumps({k: v for k, v in result.items() if k != "sets"}, indent=1))


if __name__ == "__main__":
    main()

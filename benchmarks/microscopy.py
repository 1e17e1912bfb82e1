"""16-bit microscopy: BBBC039 nuclei exact in the ROI, against what microscopists store today (docs/microscopy.md).

For every image of ``--data`` (16-bit PNGs in ``images/``, instance labels in ``labels/``), the ROI is the labels
dilated by ``--dilate`` pixels (a disk), and the image is coded by roicodec with its 16-bit default (the base, then
the ROI exact), and near-lossless at each ``--near`` bound. Against it, the whole image: JPEG XL lossless (effort 7),
JPEG 2000 reversible, JPEG-LS lossless, TIFF with zlib (tifffile's default level, no predictor); and JPEG XL lossy at
the largest distance whose ROI error stays within each bound (bisection on the distance).

    python benchmarks/microscopy.py [--data ../shared/data/bbbc039] [--limit N] [--near 4,16]
                                    [--out docs/results/microscopy.json]
    python benchmarks/microscopy.py --figure docs/microscopy.png [--image NAME]

Prints a JSON summary (per image with ``--per-image``); with ``--out`` writes it there and, for
docs/results/microscopy.json, remakes the tables of docs/microscopy.md. ``--figure`` draws one image, its ROI, its
base and its levels, with a line profile through a nucleus, and writes nothing else.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

import imagecodecs
import numpy as np
import pages
import tifffile
from PIL import Image
from scipy import ndimage
from skimage.morphology import disk

import roicodec

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "bbbc039"
JXL_EFFORT = 7
TARGET_RATIO, GOAL_RATIO, MIN_BACKGROUND_PSNR = 0.45, 0.40, 30.0


def load(data: Path, name: str, dilate: int) -> tuple[np.ndarray, np.ndarray]:
    image = np.asarray(Image.open(data / "images" / name)).astype(np.uint16)
    labels = np.asarray(Image.open(data / "labels" / name))
    return image, ndimage.binary_dilation(labels > 0, structure=disk(dilate))


def psnr(a: np.ndarray, b: np.ndarray, peak: float) -> float | None:
    if not a.size:
        return None
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(peak * peak / mse)


def jxl_lossy_within(image: np.ndarray, roi: np.ndarray, bound: int, steps: int = 7) -> dict:
    """The smallest JPEG XL lossy file (largest distance, by bisection) whose ROI error stays within ``bound``."""
    lo, hi, best = 0.0, 1.0, None
    while True:  # widen until the bound breaks, so that the bisection has a failing end
        data = bytes(imagecodecs.jpegxl_encode(image, distance=hi, effort=JXL_EFFORT))
        err = int(np.abs(imagecodecs.jpegxl_decode(data).astype(np.int32) - image)[roi].max(initial=0))
        if err > bound or hi >= 25:
            break
        best, lo, hi = (len(data), hi, err), hi, hi * 2
    for _ in range(steps):
        mid = (lo + hi) / 2
        data = bytes(imagecodecs.jpegxl_encode(image, distance=mid, effort=JXL_EFFORT))
        err = int(np.abs(imagecodecs.jpegxl_decode(data).astype(np.int32) - image)[roi].max(initial=0))
        if err <= bound:
            best, lo = (len(data), mid, err), mid
        else:
            hi = mid
    if best is None:  # even the smallest distance tried breaks the bound: lossless is what meets it
        data = bytes(imagecodecs.jpegxl_encode(image, lossless=True, effort=JXL_EFFORT))
        best = (len(data), 0.0, 0)
    return {"bytes": best[0], "distance": round(best[1], 4), "roi_max_error": best[2]}


def measure(image: np.ndarray, roi: np.ndarray, near: list[int], model: str | None) -> dict:
    """One image's figures: roicodec's default file, the whole-image lossless peers, and each near-lossless bound."""
    # An image without a labelled nucleus has no ROI: its file is the base alone (a mask must select a pixel).
    empty = {} if roi.any() else {"ladder": []}
    tic = time.perf_counter()
    data = roicodec.encode(image, roi if roi.any() else None, model=model, **empty)
    encode_s = time.perf_counter() - tic
    tic = time.perf_counter()
    with roicodec.open(data) as f:
        levels = f.decode_all()
        mask_bytes = sum(c.length + 12 for c in f.layout.chunks if c.type == b"MASK")
        info = f.level_info
        mappings = [m.as_json() for m in f.mappings]
    decode_s = time.perf_counter() - tic
    top, base = levels[-1], levels[0]
    peak = float(image.max())
    out = {
        "pixels": int(image.size), "roi_empty": not roi.any(), "roi_fraction": round(float(roi.mean()), 4), "peak": int(peak),
        "roicodec": {"bytes": len(data), "base_bytes": info[0].bytes, "mask_bytes": mask_bytes,
                     "exact": bool(np.array_equal(top[roi], image[roi])),
                     "background_is_base": bool(np.array_equal(top[~roi], base[~roi])),
                     "background_psnr": round(psnr(image[~roi], top[~roi], peak), 2),
                     "roi_psnr_base": None if not roi.any() else round(psnr(image[roi], base[roi], peak), 2),
                     "encode_s": round(encode_s, 3), "decode_s": round(decode_s, 3), "mapping": mappings},
        "jxl_lossless": len(imagecodecs.jpegxl_encode(image, lossless=True, effort=JXL_EFFORT)),
        "jpeg2000_reversible": len(imagecodecs.jpeg2k_encode(image, level=0, reversible=True)),
        "jpegls_lossless": len(imagecodecs.jpegls_encode(image)),
        "tiff_zlib": _tiff_zlib(image),
        "near": [],
    }
    for k in near:
        coded = roicodec.encode(image, roi, max_error=k, model=model) if roi.any() else data
        with roicodec.open(coded) as f:
            got = f.decode()
        out["near"].append({"max_error": k, "roicodec_bytes": len(coded),
                            "roicodec_roi_max_error": int(np.abs(got.astype(np.int32) - image)[roi].max(initial=0)),
                            "jxl_lossy": jxl_lossy_within(image, roi, k)})
    return out


def _tiff_zlib(image: np.ndarray) -> int:
    buf = io.BytesIO()
    tifffile.imwrite(buf, image, compression="zlib")
    return len(buf.getvalue())


def summarise(rows: list[dict], near: list[int]) -> dict:
    def mean(values: list[float]) -> float:
        return round(statistics.fmean(values), 4)

    ours = [r["roicodec"]["bytes"] for r in rows]
    ratio = {name: mean([o / r[name] for o, r in zip(ours, rows)])
             for name in ("jxl_lossless", "jpeg2000_reversible", "jpegls_lossless", "tiff_zlib")}
    bpp = {name: mean([r[name] * 8 / r["pixels"] for r in rows])
           for name in ("jxl_lossless", "jpeg2000_reversible", "jpegls_lossless", "tiff_zlib")}
    bpp["roicodec"] = mean([r["roicodec"]["bytes"] * 8 / r["pixels"] for r in rows])
    psnrs = [r["roicodec"]["background_psnr"] for r in rows]
    near_rows = []
    for i, k in enumerate(near):
        compared = [r for r in rows if r["near"]]
        cases = [r["near"][i] for r in compared]
        near_rows.append({
            "max_error": k,
            "images": len(cases),
            "roicodec_bpp": mean([c["roicodec_bytes"] * 8 / r["pixels"] for c, r in zip(cases, compared)]),
            "jxl_lossy_bpp": mean([c["jxl_lossy"]["bytes"] * 8 / r["pixels"] for c, r in zip(cases, compared)]),
            "jxl_lossless_bpp": mean([r["jxl_lossless"] * 8 / r["pixels"] for r in compared]),
            "ratio_vs_jxl_lossy": mean([c["roicodec_bytes"] / c["jxl_lossy"]["bytes"] for c in cases]),
            "ratio_vs_jxl_lossless": mean([c["roicodec_bytes"] / r["jxl_lossless"] for c, r in zip(cases, compared)]),
            "within_bound": sum(c["roicodec_roi_max_error"] <= k for c in cases),
        })
    return {
        "images": len(rows),
        "images_without_roi": sum(r["roi_empty"] for r in rows),
        "roi_fraction_mean": mean([r["roi_fraction"] for r in rows]),
        "exact": sum(r["roicodec"]["exact"] for r in rows),
        "background_is_base": sum(r["roicodec"]["background_is_base"] for r in rows),
        "ratio_mean": ratio,
        "ratio_vs_jxl_lossless_max": round(max(o / r["jxl_lossless"] for o, r in zip(ours, rows)), 4),
        "bpp_mean": bpp,
        "base_bpp_mean": mean([r["roicodec"]["base_bytes"] * 8 / r["pixels"] for r in rows]),
        "mask_bpp_mean": mean([r["roicodec"]["mask_bytes"] * 8 / r["pixels"] for r in rows]),
        "background_psnr": {"mean": mean(psnrs), "min": min(psnrs)},
        "encode_s_median": round(statistics.median(r["roicodec"]["encode_s"] for r in rows), 3),
        "decode_s_median": round(statistics.median(r["roicodec"]["decode_s"] for r in rows), 3),
        "near": near_rows,
        "targets": {"ratio_at_most": TARGET_RATIO, "ratio_goal": GOAL_RATIO,
                    "background_psnr_at_least": MIN_BACKGROUND_PSNR},
    }


def figure(data: Path, name: str | None, dilate: int, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    name = name or sorted(p.name for p in (data / "images").glob("*.png"))[0]
    image, roi = load(data, name, dilate)
    coded = roicodec.encode(image, roi)
    with roicodec.open(coded) as f:
        levels = f.decode_all()
        sizes = [level.bytes for level in f.level_info]
    labels = np.asarray(Image.open(data / "labels" / name))
    # The line runs through the middle of the largest nucleus, so that it crosses background, ROI and nucleus.
    ids, counts = np.unique(labels[labels > 0], return_counts=True)
    ys, _ = np.nonzero(labels == ids[np.argmax(counts)])
    row = int(np.median(ys))
    low, high = np.percentile(image, (0.1, 99.9))
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.5))
    panels = [(image, "original (16-bit, display 0.1..99.9th pct)"), (roi, f"ROI: labels dilated {dilate} px "
              f"({roi.mean():.0%})"), (levels[0], f"level 0, base: {sizes[0]:,} bytes"),
              (levels[-1], f"level 1, ROI exact: {sizes[-1]:,} bytes"),
              (np.abs(levels[-1].astype(np.int32) - image), "|level 1 - original| (0 in the ROI)")]
    for ax, (pix, title) in zip(axes.flat, panels):
        ax.imshow(pix, cmap="gray", vmin=0 if pix.dtype == bool or "|" in title else low,
                  vmax=1 if pix.dtype == bool else (None if "|" in title else high))
        ax.axhline(row, color="tab:orange", lw=0.8)
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    ax = axes.flat[5]
    x = np.arange(image.shape[1])
    ax.fill_between(x, 0, 1, where=roi[row], color="tab:green", alpha=0.12, transform=ax.get_xaxis_transform(),
                    label="ROI")
    ax.plot(x, image[row], color="black", lw=1.2, label="original")
    ax.plot(x, levels[0][row], color="tab:blue", lw=0.9, label="level 0 (base)")
    ax.plot(x, levels[-1][row], color="tab:red", lw=0.7, ls="--", label="level 1 (ROI exact)")
    ax.set_title(f"row {row}: intensity in native units", fontsize=9)
    ax.legend(fontsize=7)
    fig.suptitle(f"BBBC039 {name[:24]}…: {image.shape[1]}x{image.shape[0]}, whole file {len(coded):,} bytes "
                 f"against {len(imagecodecs.jpegxl_encode(image, lossless=True, effort=JXL_EFFORT)):,} for "
                 "JPEG XL lossless", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    print(f"wrote {out}")


def main() -> None:
    begun = pages.begin()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--limit", type=int, help="only the first N images (by name)")
    parser.add_argument("--dilate", type=int, default=3, help="ROI: labels dilated by this many pixels (a disk)")
    parser.add_argument("--near", default="4,16", help="near-lossless bounds to compare, comma-separated ('' none)")
    parser.add_argument("--near-limit", type=int, default=20, help="compare the near-lossless bounds on the first N "
                        "images only (JPEG XL's bisection costs a dozen encodes per bound)")
    parser.add_argument("--model", help="base model (default: roicodec's)")
    parser.add_argument("--per-image", action="store_true", help="print every image's figures too")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument("--figure", type=Path, help="only draw the figure of one image into this PNG")
    parser.add_argument("--image", help="with --figure: the image's file name (default: the first)")
    args = parser.parse_args()
    if args.figure:
        figure(args.data, args.image, args.dilate, args.figure)
        return
    near = [int(k) for k in args.near.split(",") if k.strip()]
    names = sorted(p.name for p in (args.data / "images").glob("*.png"))[:args.limit]
    rows = []
    for i, name in enumerate(names):
        image, roi = load(args.data, name, args.dilate)
        rows.append({"image": name, **measure(image, roi, near if i < args.near_limit else [], args.model)})
        r = rows[-1]
        print(f"{i + 1}/{len(names)} {name[:30]}: {r['roicodec']['bytes'] / r['jxl_lossless']:.3f} of JPEG XL, "
              f"exact {r['roicodec']['exact']}, background {r['roicodec']['background_psnr']} dB", file=sys.stderr)
    with roicodec.open(roicodec.encode(*load(args.data, names[0], args.dilate), model=args.model)) as f:
        model = {"name": f.model[0], "hash": f.model[1]}
        ladder = list(f.layers)
    result = {"data": str(args.data.name), "dilate": args.dilate, "model": model, "ladder": ladder,
              "jxl_effort": JXL_EFFORT, "summary": summarise(rows, near)}
    result["meta"] = pages.meta("microscopy.py", sys.argv[1:], begun)
    print(json.dumps(result if not args.per_image else {**result, "images": rows}, indent=1))
    if args.out:
        pages.write(args.out, {**result, "images": rows})


if __name__ == "__main__":
    main()

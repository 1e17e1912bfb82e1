"""Time and peak memory against image size, and batch throughput against Dask workers (docs/scaling.md).

    python benchmarks/scaling.py [--sizes 1,4,16,64] [--batch-images 24] [--data ../shared/data/kodak]

Each size runs in a fresh interpreter (``ru_maxrss`` only grows): a square RGB image of that many megapixels,
mirror-tiled from a Kodak image, with a central ROI of half the side, coded with the default ladder, then decoded at
its top level. The batch part codes the Kodak folder with ``roicodec.batch`` on a local cluster of 1, then 2 worker
processes. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
import numpy as np
from PIL import Image

def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

src, side = sys.argv[1], int(sys.argv[2])
import roicodec
small = np.asarray(Image.open(src).convert("RGB"))
reps = -(-side // small.shape[0]) + 1, -(-side // small.shape[1]) + 1
rgb = np.pad(small, ((0, reps[0] * small.shape[0] - small.shape[0]), (0, reps[1] * small.shape[1] - small.shape[1]),
                     (0, 0)), mode="symmetric")[:side, :side].copy()
roi = np.zeros((side, side), bool)
roi[side // 4:3 * side // 4, side // 4:3 * side // 4] = True
roicodec.decode(roicodec.encode(rgb[:64, :64]))  # load torch and the model outside the measurements
peak_input = peak_mib()
t0 = time.perf_counter()
data = roicodec.encode(rgb, roi)
encode_s = time.perf_counter() - t0
peak_encode = peak_mib()
del rgb, roi
t0 = time.perf_counter()
roicodec.decode(data)
decode_s = time.perf_counter() - t0
print(json.dumps({"side": side, "megapixels": side * side / 1e6, "encode_s": encode_s, "decode_s": decode_s,
                  "peak_input_mib": peak_input, "peak_encode_mib": peak_encode, "peak_total_mib": peak_mib(),
                  "file_bytes": len(data)}))
"""


def batch_throughput(data: Path, images: int, workers: int) -> dict:
    from roicodec import batch

    sources = sorted(data.glob("*.png"))[:images]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        for s in sources:
            (folder / s.name).symlink_to(s.resolve())
        tasks = batch.plan(folder, Path(tmp) / "out")
        t0 = time.perf_counter()
        report = batch.encode_many(tasks, workers=workers, progress=False)
        seconds = time.perf_counter() - t0
    megapixels = sum(768 * 512 for _ in sources) / 1e6
    return {"workers": workers, "images": len(sources), "seconds": round(seconds, 1),
            "images_per_s": round(len(sources) / seconds, 2), "megapixels_per_s": round(megapixels / seconds, 2),
            "failed": report.count("failed")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,4,16,64", help="megapixels, comma-separated")
    ap.add_argument("--batch-images", type=int, default=24)
    ap.add_argument("--data", type=Path, default=REPO / "../shared/data/kodak")
    args = ap.parse_args()
    src = (args.data / "kodim23.png").resolve()
    planes = []
    for mp in (float(x) for x in args.sizes.split(",")):
        side = int(round((mp * 1e6) ** 0.5 / 16)) * 16
        out = subprocess.run([sys.executable, "-c", CHILD, str(src), str(side)], capture_output=True, text=True,
                             check=True)
        row = json.loads(out.stdout)
        row["codec_mib"] = row["peak_total_mib"] - row["peak_input_mib"]
        row["codec_bytes_per_pixel"] = row["codec_mib"] * 2**20 / (side * side)
        planes.append({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()})
        print(json.dumps(planes[-1]), file=sys.stderr)
    batches = [batch_throughput(args.data, args.batch_images, n) for n in (1, 2)]
    print(json.dumps({"planes": planes, "batch": batches}, indent=1))


if __name__ == "__main__":
    main()

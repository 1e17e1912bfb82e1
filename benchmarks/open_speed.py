"""How long ``PIL.Image.open`` takes on a large ``.roi`` once ``import roicodec`` has registered the plugin.

Opening must read the header and chunk heads only, and must not pull in torch: a viewer that lists a folder of
``.roi`` files opens every one of them. Target: median under 5 ms, torch not imported.

    python benchmarks/open_speed.py [--side 4096] [--runs 50]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

TARGET_MS = 5.0

# Runs in a fresh interpreter: the parent has imported torch to encode, and a warm torch would hide a reader that
# imports it.
CHILD = r"""
import json, statistics, sys, time
path, runs = sys.argv[1], int(sys.argv[2])
t0 = time.perf_counter()
import roicodec
from PIL import Image
import_ms = (time.perf_counter() - t0) * 1e3
times = []
for _ in range(runs):
    t0 = time.perf_counter()
    im = Image.open(path)
    times.append((time.perf_counter() - t0) * 1e3)
    assert im.format == "ROI", im.format
    size, frames = im.size, im.n_frames
    im.close()
print(json.dumps({
    "import_roicodec_ms": import_ms,
    "first_open_ms": times[0],
    "median_open_ms": statistics.median(times),
    "min_open_ms": min(times),
    "runs": runs,
    "size": list(size),
    "levels": frames,
    "torch_imported": "torch" in sys.modules,
}))
"""


def smooth_image(side: int) -> tuple[np.ndarray, np.ndarray]:
    """A smooth colour field and a central disc ROI; content does not matter to the header-only open."""
    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / side
    rgb = np.stack([128 + 100 * np.sin(6 * x + 2 * y), 128 + 100 * np.cos(5 * y - 3 * x),
                    128 + 100 * np.sin(4 * (x + y))], axis=2)
    roi = (x - 0.5) ** 2 + (y - 0.5) ** 2 < 0.2**2
    return rgb.round().astype(np.uint8), roi


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=4096)
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    if args.runs < 20:
        ap.error("use --runs 20 or more so that the median means something")

    import roicodec

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.roi"
        rgb, roi = smooth_image(args.side)
        roicodec.encode(rgb, roi, path)
        file_bytes = path.stat().st_size
        del rgb, roi
        out = subprocess.run([sys.executable, "-c", CHILD, str(path), str(args.runs)],
                             capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    result["file_bytes"] = file_bytes
    result["target_ms"] = TARGET_MS
    result["meets_target"] = result["median_open_ms"] < TARGET_MS and not result["torch_imported"]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""Time and memory against plane size on the streaming path, and batch throughput against Dask workers
(docs/scaling.md).

    python benchmarks/scaling.py [--sizes 1,4,16,64] [--io mmap,pread] [--trim-off 1,16,64] [--batch-images 24]
                                 [--data DIR] [--out docs/results/scaling.json]

Each size: a square RGB plane of that many megapixels, mirror-tiled from a Kodak image, and a central ROI of half the
side are written to disk as ``.npy`` beforehand. A fresh interpreter (``ru_maxrss`` only grows) loads torch and the
model, opens both files, encodes them to a ``.roi`` file with ``roicodec.encode(image, roi, path)``, closes them,
then decodes the top level into a new ``.npy`` with ``RoiFile.decode(out=...)``. ``--io mmap`` opens the files as
``np.memmap``; ``--io pread`` as arrays that read and write their blocks with ``os.pread`` and ``os.pwrite``, as zarr
or h5py do, so that no page of them is mapped into the process; each way named is measured in turn.

Memory is reported two ways, each as the rise over the peak before encoding: the peak resident set (``ru_maxrss``),
which with ``--io mmap`` also counts the pages of the input and output files that the kernel keeps mapped (page
cache, which it reclaims under pressure), and the peak of the process's anonymous memory (``RssAnon``, sampled from
``/proc/PID/status`` by this process every 2 ms), which is the codec's own. CPU time is the measured process's own
(every thread).

``--trim-off`` measures those sizes again (``mmap``) with ``roicodec.heap.trim`` made a no-op in the child, to show
what handing the heap back between tiles saves in memory and costs in CPU time; an empty value skips it.
``--batch-images 0`` skips the batch part, which codes that many Kodak images with ``roicodec.batch`` on a local
cluster of 1, then 2 worker processes. Prints one JSON object; with ``--out`` also writes it there and, for
docs/results/scaling.json, remakes the tables in docs/scaling.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pages
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SAMPLE_S = 0.002

CHILD = r"""
import json, math, os, resource, sys, time
from pathlib import Path
import numpy as np

def peak_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

class PreadNpy:
    # A (Y, X, ...) .npy read and written a row segment at a time with pread/pwrite: nothing of it is mapped.
    def __init__(self, path, shape=None):
        if shape is not None:
            with open(path, "wb") as f:
                np.lib.format.write_array_header_1_0(f, {"descr": "|u1", "fortran_order": False, "shape": shape})
                f.truncate(f.tell() + math.prod(shape))
        with open(path, "rb") as f:
            np.lib.format.read_magic(f)
            self.shape, _, self.dtype = np.lib.format.read_array_header_1_0(f)
            self.offset = f.tell()
        self.fd = os.open(path, os.O_RDWR)
        self.pixel = math.prod(self.shape[2:]) * self.dtype.itemsize

    def _rows(self, key):
        # Each row of the block: its index in the block, its offset in the file, and its length in bytes.
        (y0, y1, _), (x0, x1, _) = (k.indices(n) for k, n in zip(key[:2], self.shape))  # then samples, whole
        return x1 - x0, [(y - y0, self.offset + (y * self.shape[1] + x0) * self.pixel, (x1 - x0) * self.pixel)
                         for y in range(y0, y1)]

    def __getitem__(self, key):
        width, rows = self._rows(key)
        data = b"".join(os.pread(self.fd, n, at) for _, at, n in rows)
        return np.frombuffer(data, self.dtype).reshape(len(rows), width, *self.shape[2:])

    def __setitem__(self, key, value):
        for i, at, _ in self._rows(key)[1]:
            os.pwrite(self.fd, np.ascontiguousarray(value[i]).tobytes(), at)

    def close(self):
        os.close(self.fd)

folder, io, trim = Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "trim"
import roicodec
if not trim:
    roicodec.heap.trim = lambda: None  # what the trim saves and costs: the same run without it
if io == "mmap":
    image = np.load(folder / "image.npy", mmap_mode="r")
    roi = np.load(folder / "roi.npy", mmap_mode="r")
else:
    image, roi = PreadNpy(folder / "image.npy"), PreadNpy(folder / "roi.npy")
roicodec.decode(roicodec.encode(np.array(image[:64, :64])))  # load torch and the model outside the measurements
peak_input = peak_mib()
marks = {"encode": time.monotonic()}
t0, c0 = time.perf_counter(), time.process_time()
roicodec.encode(image, roi, folder / "plane.roi")
encode_s, encode_cpu_s = time.perf_counter() - t0, time.process_time() - c0
peak_encode = peak_mib()
if io == "pread":
    image.close()
    roi.close()
del image, roi  # unmapped: the decoder's share should not count the input's pages
marks["decode"] = time.monotonic()
with roicodec.open(folder / "plane.roi") as f:
    if io == "mmap":
        out = np.lib.format.open_memmap(folder / "decoded.npy", "w+", np.uint8, f.shape)
    else:
        out = PreadNpy(folder / "decoded.npy", f.shape)
    t0, c0 = time.perf_counter(), time.process_time()
    f.decode(out=out)
    if io == "mmap":
        out.flush()
    else:
        out.close()
    decode_s, decode_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    base_level_bytes, model, layers = f.level_info[0].bytes, f.model, list(f.layers)
marks["end"] = time.monotonic()
print(json.dumps({"encode_s": encode_s, "decode_s": decode_s, "encode_cpu_s": encode_cpu_s,
                  "decode_cpu_s": decode_cpu_s, "peak_input_mib": peak_input,
                  "peak_encode_mib": peak_encode, "peak_total_mib": peak_mib(),
                  "file_bytes": (folder / "plane.roi").stat().st_size, "base_level_bytes": base_level_bytes,
                  "model": model, "layers": layers, "marks": marks}))
"""


def write_inputs(folder: Path, src: Path, side: int) -> None:
    """The plane and its ROI as ``.npy`` files, written a band of rows at a time with plain writes: a mapped file's
    pages would raise this process's peak, and on Linux a child starts with its parent's peak in ``ru_maxrss``."""
    small = np.asarray(Image.open(src).convert("RGB"))
    # np.pad's symmetric mode repeats the image and its mirror images: one period of it indexes every pixel.
    period = np.pad(small, ((0, small.shape[0]), (0, small.shape[1]), (0, 0)), mode="symmetric")
    cols = np.arange(side) % period.shape[1]
    with (folder / "image.npy").open("wb") as image, (folder / "roi.npy").open("wb") as roi:
        np.lib.format.write_array_header_1_0(image, {"descr": "|u1", "fortran_order": False, "shape": (side, side, 3)})
        np.lib.format.write_array_header_1_0(roi, {"descr": "|b1", "fortran_order": False, "shape": (side, side)})
        for y in range(0, side, 256):
            rows = np.arange(y, min(y + 256, side))
            image.write(np.ascontiguousarray(period[rows % period.shape[0]][:, cols]).tobytes())
            band = np.zeros((len(rows), side), bool)
            band[(rows >= side // 4) & (rows < 3 * side // 4), side // 4:3 * side // 4] = True
            roi.write(band.tobytes())


def _status_kib(pid: int) -> tuple[int, int] | None:
    """``RssAnon`` and ``RssFile`` of a process, in KiB; ``None`` once it has gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    try:
        return int(fields["RssAnon"].split()[0]), int(fields["RssFile"].split()[0])
    except KeyError:  # a process that is exiting has no memory fields left
        return None


def measure_plane(src: Path, side: int, io: str, trim: bool = True) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_inputs(folder, src, side)
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(folder), io, "trim" if trim else "no-trim"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        samples = []
        while proc.poll() is None:
            now, status = time.monotonic(), _status_kib(proc.pid)
            if status is not None:
                samples.append((now, *status))
            time.sleep(SAMPLE_S)
        out, err = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"size {side}: the child failed:\n{err}")
    row = json.loads(out)
    marks = row.pop("marks")

    def peak(column: int, start: float, stop: float) -> float:
        return max((s[column] for s in samples if start <= s[0] < stop), default=0) / 1024

    before = peak(1, 0, marks["encode"])
    row.update(side=side, megapixels=side * side / 1e6, io=io, trim=trim,
               anon_before_mib=before,
               anon_encode_mib=peak(1, marks["encode"], marks["decode"]) - before,
               anon_decode_mib=peak(1, marks["decode"], marks["end"]) - before,
               mapped_file_before_mib=peak(2, 0, marks["encode"]),
               mapped_file_peak_mib=peak(2, marks["encode"], marks["end"]),
               rss_share_mib=row["peak_total_mib"] - row["peak_input_mib"], samples=len(samples))
    row["codec_anon_mib"] = max(row["anon_encode_mib"], row["anon_decode_mib"])
    return row


def _pixels(path: Path) -> int:
    with Image.open(path) as im:  # the header only
        return im.width * im.height


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
    megapixels = sum(_pixels(s) for s in sources) / 1e6
    return {"workers": workers, "images": len(sources), "megapixels": round(megapixels, 4),
            "seconds": round(seconds, 1), "images_per_s": round(len(sources) / seconds, 4), "megapixels_per_s": round(megapixels / seconds, 4),
            "failed": report.count("failed")}


def _sizes(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def main() -> None:
    begun = pages.begin()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,4,16,64", help="megapixels, comma-separated")
    ap.add_argument("--io", default="mmap,pread", help="how the child opens its .npy files: mmap, pread or both")
    ap.add_argument("--trim-off", default="1,16,64", help="sizes measured again without the heap trim ('' skips)")
    ap.add_argument("--batch-images", type=int, default=24, help="Kodak images for the batch part; 0 skips it")
    ap.add_argument("--data", type=Path, default=REPO / "../shared/data/kodak")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    args = ap.parse_args()
    ios = args.io.split(",")
    if not set(ios) <= {"mmap", "pread"}:
        ap.error(f"--io: mmap, pread or both, not {args.io!r}")
    src = (args.data / "kodim23.png").resolve()
    runs = [(mp, io, True) for io in ios for mp in _sizes(args.sizes)]
    runs += [(mp, "mmap", False) for mp in _sizes(args.trim_off)]
    planes, model, layers = [], None, None
    for mp, io, trim in runs:
        side = round((mp * 1e6) ** 0.5 / 16) * 16
        row = measure_plane(src, side, io, trim)
        model, layers = row.pop("model"), row.pop("layers")
        planes.append({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()})
        print(json.dumps(planes[-1]), file=sys.stderr)
    batches = [batch_throughput(args.data, args.batch_images, n) for n in (1, 2)] if args.batch_images > 0 else []
    result = {"image": f"{src.name} mirror-tiled, central ROI of half the side, default ladder and base model",
              "model": {"name": model[0], "hash": model[1]} if model else None, "ladder": layers,
              "planes": planes, "batch": batches, "batch_data": os.path.relpath(args.data, REPO)}
    result["meta"] = pages.meta("scaling.py", sys.argv[1:], begun)
    print(json.dumps(result, indent=1))
    if args.out:
        pages.write(args.out, result)


if __name__ == "__main__":
    main()

"""Reading a ``.roi`` file without torch: a fresh process that opens and loads it, and warm decode throughput, on the
ONNX Runtime path against the torch path (the reader as it was before, run from a checkout of that commit).

    python benchmarks/read_speed.py [--runs 5] [--sizes 1280x864,4000x3000] [--torch-commit COMMIT]
                                    [--plain-python PYTHON] [--out docs/results/read_speed.json]

Files: kodim23 mirror-tiled to each size, a central ROI of half of each side, the default ladder and base model.
Fresh processes run ``python -c "from PIL import Image; Image.open(path).load()"`` (the top level), in turn: the torch
path and the ONNX Runtime path from source (both through ``PYTHONPATH``, in this interpreter), and the plain install,
what ``pip install roicodec`` gives a Pillow user (a wheel of this tree in a fresh virtual environment, built here
unless ``--plain-python`` names one, such as ``.venv-read/bin/python`` from ``.ci/run``), on a file of the compared
model and one of the default model. The plain install is what the 0.5 s target is about: its modules are compiled
once, at install, where source on ``PYTHONPATH`` is compiled by every process when ``PYTHONDONTWRITEBYTECODE`` is set
(it is on this machine: 35 ms a process). Wall time is the whole process, peak memory its ``VmHWM``
(``/proc/self/status``). Throughput
decodes the same file in one warm process (one untimed load first), the top level and the base alone, beside Pillow's
JPEG 2000 (``irreversible``, ``mct=1``) and AVIF (``quality=50``) decoders on the same image at about the same bytes,
in the same process. ``--agreement``: per shipped model, on the 24 Kodak images, how many 8-bit channel values ONNX Runtime's decoder
(and preview head) gives otherwise than torch's from the same latent, and by how much. Both paths run at their
default thread count: torch's (one per core) and ONNX Runtime's (one
per physical core), which this machine's 2 cores make equal; set ``ROICODEC_THREADS`` to change ONNX Runtime's.
"""

from __future__ import annotations

import argparse
import importlib.util
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

import pages

REPO = Path(__file__).resolve().parents[1]
KODAK = REPO / ".." / "shared" / "data" / "kodak" / "kodim23.png"
TARGET_WALL_S = 0.5
TARGET_PEAK_MB = 200
COMPARED = "rd-q1"
"""The files' base model: the torch path (the reader before ONNX Runtime) knows no later model. A file of the
default model (``registry.DEFAULT``) is timed fresh on the ONNX Runtime path too."""

FRESH = r"""
import sys
from PIL import Image
im = Image.open(sys.argv[1])
im.load()
import json, roicodec
# The process's own peak: VmHWM belongs to the address space exec made. ru_maxrss from wait4 would not do: a child
# spawned by vfork carries its parent's high-water mark (this benchmark's, with torch and the images) across exec.
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"torch_imported": "torch" in sys.modules, "roicodec": roicodec.__file__, "size": im.size,
                  "peak_mb": peak / 1024}))
"""

WARM = r"""
import io, json, statistics, sys, time
from PIL import Image
path, runs = sys.argv[1], int(sys.argv[2])
peers = json.loads(sys.argv[3])


def timed(load):
    load()  # untimed: sessions, caches and the file's pages warm
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        load()
        times.append(time.perf_counter() - t0)
    return {"median": round(statistics.median(times), 4), "runs": [round(t, 4) for t in times]}


def level(frame):
    def load():
        with Image.open(path) as im:
            im.seek(frame)
            im.load()
    return load


def peer(name):
    data = open(peers[name], "rb").read()
    return lambda: Image.open(io.BytesIO(data)).load()


with Image.open(path) as im:
    top = im.n_frames - 1
out = {"top": timed(level(top)), "base": timed(level(0))}
for name in peers:
    out[name] = timed(peer(name))
import roicodec
out["torch_imported"] = "torch" in sys.modules
out["roicodec"] = roicodec.__file__
if out["torch_imported"]:
    import torch
    out["torch_threads"] = torch.get_num_threads()
else:
    from roicodec.models import runtime
    out["onnxruntime_threads"] = runtime.threads() or "default (one per physical core)"
print(json.dumps(out))
"""


def mirror_tiled(width: int, height: int) -> np.ndarray:
    image = np.asarray(Image.open(KODAK).convert("RGB"))
    h, w = image.shape[:2]
    reps = (-(-height // h), -(-width // w))
    rows = [np.concatenate([image[:, ::-1] if c % 2 else image for c in range(reps[1])], axis=1)
            for _ in range(reps[0])]
    tiled = np.concatenate([row[::-1] if r % 2 else row for r, row in enumerate(rows)], axis=0)
    return np.ascontiguousarray(tiled[:height, :width])


def fresh_run(python: str, script: str, path: Path, env: dict[str, str]) -> dict:
    """One fresh interpreter: wall time from start to exit, and its own peak resident memory (it reports it)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([python, "-c", script, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)
    _, status, _ = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    proc.stdout.close(), proc.stderr.close()  # type: ignore[union-attr]
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{python} failed on {path}:\n{err.decode()[-2000:]}")
    return {"wall_s": wall, **json.loads(out)}


def summary(values: list[float], digits: int) -> dict:
    return {"median": round(statistics.median(values), digits), "runs": [round(v, digits) for v in values]}


def agreement(models: list[str]) -> dict:
    """Per shipped model, on the 24 Kodak images: the pixels ONNX Runtime's ``g_s`` (and preview head) give against
    the torch modules', from the same latent, and the latent cells its ``g_a`` rounds otherwise than torch."""
    import torch

    from roicodec import weights
    from roicodec.models import nets, registry, store
    from roicodec.models.base_model import BaseModel

    paths = sorted(KODAK.parent.glob("kodim*.png"))
    out = {}
    for name in models:
        info = registry.info(name)
        meta, arrays = store.read(info.path)  # borrowed transforms filled in
        model, net = BaseModel(meta, arrays), nets.build(meta, arrays)
        head_path = registry._preview_of(info.path, meta)[0]
        head = None
        if head_path.exists():
            head = nets.build_preview(weights.read(head_path)[1])
            model.attach_preview(weights.read(head_path)[1])
        counts = {"values": 0, "differing": 0, "max": 0, "cells": 0, "cells_differing": 0, "preview_values": 0,
                  "preview_differing": 0, "preview_max": 0}
        for path in paths:
            image = np.asarray(Image.open(path).convert("RGB"))
            h, w = image.shape[:2]
            latent = model.analyse(image, 1024)
            with torch.inference_mode():
                x = torch.from_numpy(image.copy()).permute(2, 0, 1)[None].float().div_(255.0)
                reference = torch.round(net.g_a(x))[0].numpy()
                data, latent = model.code(latent)
                y = torch.from_numpy(latent.astype(np.float32))[None]
                want = net.g_s(y)[0].mul_(255.0).round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
                small = None if head is None else \
                    head(y)[0].mul_(255.0).round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
            counts["cells"] += reference.size
            counts["cells_differing"] += int((reference != model.analyse(image, 1024)).sum())
            (tile,) = model.tiles(h, w, 1024)
            diff = np.abs(model.synthesise_tile(latent, tile).astype(int) - want[:h, :w].astype(int))
            counts["values"] += diff.size
            counts["differing"] += int((diff > 0).sum())
            counts["max"] = max(counts["max"], int(diff.max()))
            if small is not None:
                diff = np.abs(model.preview(data, h, w, 1024).astype(int) - small.astype(int))
                counts["preview_values"] += diff.size
                counts["preview_differing"] += int((diff > 0).sum())
                counts["preview_max"] = max(counts["preview_max"], int(diff.max()))
        out[name] = counts
    return out


def torch_path_commit() -> str:
    """The last commit before the ONNX Runtime reader: the parent of the commit that added ``models/runtime.py``."""
    added = subprocess.run(["git", "-C", str(REPO), "log", "--diff-filter=A", "--format=%H", "--",
                            "src/roicodec/models/runtime.py"], capture_output=True, text=True, check=True).stdout.split()
    if not added:
        raise SystemExit("no commit adds src/roicodec/models/runtime.py: give --torch-commit")
    return subprocess.run(["git", "-C", str(REPO), "rev-parse", f"{added[-1]}~1"], capture_output=True, text=True,
                          check=True).stdout.strip()


def main() -> None:
    begun = pages.begin()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sizes", default="1280x864,4000x3000", help="WIDTHxHEIGHT,...")
    ap.add_argument("--torch-commit", help="the torch reader's commit (default: the one before models/runtime.py)")
    ap.add_argument("--plain-python", help="the interpreter of a plain install of this tree (default: make one)")
    ap.add_argument("--agreement", default="all", help="models to compare with torch on Kodak (all, none, a,b)")
    ap.add_argument("--out", type=Path, help="also write the JSON here (and remake docs/reading.md from it)")
    args = ap.parse_args()
    if importlib.util.find_spec("torch") is None:
        raise SystemExit(f"the torch path needs torch in this interpreter ({sys.executable}): use the full install")
    import roicodec

    commit = args.torch_commit or torch_path_commit()
    sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        checkout = tmp / "torch-path"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(checkout), commit],
                       check=True)
        try:
            result = measure(args, sizes, tmp, checkout, roicodec)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(checkout)], check=True)
    if args.agreement != "none":
        from roicodec.models import registry

        chosen = sorted(registry.available()) if args.agreement == "all" else args.agreement.split(",")
        result["agreement"] = agreement(chosen)
    result["torch_path"] = {"commit": commit, "how": "that commit's src/ first on PYTHONPATH, in this interpreter"}
    result["meta"] = pages.meta("read_speed.py", sys.argv[1:], begun)
    print(json.dumps(result, indent=1))
    if args.out:
        pages.write(args.out, result)


def plain_install(tmp: Path, tree: Path) -> str:
    """A fresh virtual environment holding a wheel of ``tree`` and its dependencies, as ``pip install`` makes it."""
    venv = tmp / "plain"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "--quiet", str(tree)], check=True)
    return python


def measure(args: argparse.Namespace, sizes: list[tuple[int, int]], tmp: Path, checkout: Path, roicodec) -> dict:
    base_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # The ONNX Runtime path is the roicodec this script imported (a checkout of one commit, through PYTHONPATH, to
    # measure committed code while the tree changes).
    here = Path(roicodec.__file__).parents[1]
    plain = args.plain_python or plain_install(tmp, here.parent)
    plain_site = Path(subprocess.run([plain, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                     capture_output=True, text=True, check=True).stdout.strip())
    plain_torch = subprocess.run([plain, "-c", "import torch"], capture_output=True, check=False).returncode == 0
    envs = {"torch": dict(base_env, PYTHONPATH=str(checkout / "src")), "onnx": dict(base_env, PYTHONPATH=str(here))}
    files, fresh, throughput = [], {}, {}
    for width, height in sizes:
        key = f"{width}x{height}"
        image = mirror_tiled(width, height)
        roi = np.zeros((height, width), bool)
        roi[height // 4:height - height // 4, width // 4:width - width // 4] = True
        path = tmp / f"{key}.roi"
        # The torch path reads the models of its time only: the comparison codes with COMPARED; the default model's
        # own file is timed on the ONNX Runtime path beside it.
        roicodec.encode(image, roi, path, model=COMPARED)
        default_path = tmp / f"{key}-default.roi"
        roicodec.encode(image, roi, default_path)
        size = path.stat().st_size
        with roicodec.open(path) as f:
            model, layers = f.model, f.layers
        # Peers at about the .roi file's bytes, so that their decoders see a comparable amount of data.
        peers = {"jpeg2000": tmp / f"{key}.jp2", "avif": tmp / f"{key}.avif"}
        Image.fromarray(image).save(peers["jpeg2000"], irreversible=True, mct=1, quality_mode="rates",
                                    quality_layers=[image.nbytes / size])
        Image.fromarray(image).save(peers["avif"], quality=50)
        with roicodec.open(default_path) as f:
            default_model = {"name": f.model[0], "hash": f.model[1], "bytes": default_path.stat().st_size}
        files.append({"size": key, "megapixels": round(width * height / 1e6, 2), "bytes": size,
                      "default_model": default_model,
                      "bpp": round(size * 8 / (width * height), 3), "model": {"name": model[0], "hash": model[1]},
                      "layers": list(layers),
                      "peers_bytes": {name: p.stat().st_size for name, p in peers.items()}})
        del image, roi
        # name: (interpreter, file, environment, where its roicodec must come from)
        ways = {"torch": (sys.executable, path, envs["torch"], checkout / "src"),
                "onnx": (sys.executable, path, envs["onnx"], here),
                "plain": (plain, path, base_env, plain_site),
                "plain_default": (plain, default_path, base_env, plain_site)}
        runs: dict[str, list[dict]] = {name: [] for name in ways}
        for _ in range(args.runs):
            for name, (python, file, env, _) in ways.items():  # in turn: a drift in the machine falls on all alike
                runs[name].append(fresh_run(python, FRESH, file, env))
        fresh[key] = {}
        for name, got in runs.items():
            where = {Path(r["roicodec"]).parents[1] for r in got}
            want = ways[name][3]
            if where != {want}:
                raise SystemExit(f"the {name} path ran roicodec from {where}, not {want}")
            fresh[key][name] = {"wall_s": summary([r["wall_s"] for r in got], 3),
                                "peak_mb": summary([r["peak_mb"] for r in got], 1),
                                "torch_imported": any(r["torch_imported"] for r in got)}
        throughput[key] = {}
        peer_paths = json.dumps({name: str(p) for name, p in peers.items()})
        for name, env in envs.items():
            proc = subprocess.run([sys.executable, "-c", WARM, str(path), str(args.runs), peer_paths],
                                  capture_output=True, text=True, env=env)
            if proc.returncode:
                raise SystemExit(proc.stderr[-2000:])
            warm = json.loads(proc.stdout)
            mp = width * height / 1e6
            for part in ("top", "base", *peers):
                warm[part]["megapixels_per_s"] = round(mp / warm[part]["median"], 2)
            throughput[key][name] = warm
    small = sizes[0]
    first = fresh[f"{small[0]}x{small[1]}"]["plain_default"]
    return {
        "files": files,
        "runs": args.runs,
        "plain_install": {"python": "made by this run" if args.plain_python is None else args.plain_python,
                          "torch_importable": plain_torch},
        "fresh": fresh,
        "throughput": throughput,
        "targets": {
            "file": f"{small[0]}x{small[1]}", "path": "plain_default", "wall_s": TARGET_WALL_S, "peak_mb": TARGET_PEAK_MB,
            "met_fresh": first["wall_s"]["median"] <= TARGET_WALL_S and first["peak_mb"]["median"] <= TARGET_PEAK_MB
            and not first["torch_imported"] and not plain_torch,
            "met_throughput": all(t["onnx"]["top"]["median"] <= t["torch"]["top"]["median"]
                                  for t in throughput.values()),
        },
    }


if __name__ == "__main__":
    main()

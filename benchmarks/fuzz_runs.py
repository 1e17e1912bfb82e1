"""Run both atheris fuzz targets (fuzz/) once each and record what libFuzzer reports, for docs/robustness.md.

    python benchmarks/fuzz_runs.py [--container-runs 1000000] [--pillow-seconds 300] [--out docs/results/fuzz.json]

Each target starts from the committed seeds (``fuzz/corpus``, ``fuzz/regressions``, of the checkout whose roicodec is
measured) in a scratch folder of its own, so the repository is never written to; the container parser stops after a
number of executions, the Pillow plugin (which decodes pixels, so is far slower) after a number of seconds. Per target
the JSON holds the exact options, executions and seconds as libFuzzer's last lines report them, the coverage it
reached, how many inputs it kept, and every crash, timeout or out-of-memory input it wrote. Such an input is copied to
``--keep`` (the scratch folder goes): add it to ``fuzz/regressions/`` once its cause is fixed. Needs ``atheris``
(``pip install -e ".[fuzz]"``). With ``--out`` it also writes the JSON there and, for docs/results/fuzz.json, remakes
the table in docs/robustness.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import pages

REPO = Path(__file__).resolve().parents[1]
SEEDS = ("fuzz/corpus", "fuzz/regressions")
ARTIFACTS = ("crash-", "timeout-", "oom-", "leak-")

# libFuzzer's closing line ("Done 1000000 runs in 57 second(s)"; atheris's own run limit drops the word "runs") and
# its status lines ("#4096 pulse cov: 197 ft: 584 corp: 44/19Kb ...").
DONE = re.compile(r"^Done (\d+)(?: runs)? in (\d+) second", re.MULTILINE)
STATUS = re.compile(r"^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)/", re.MULTILINE)


def checkout() -> Path:
    """The checkout whose roicodec ``import`` finds (``PYTHONPATH`` may point at another one): its fuzz targets and
    seeds are the ones that go with that code, as a seed in a newer format would only exercise the refusal."""
    spec = importlib.util.find_spec("roicodec")
    root = Path(spec.origin).parents[2] if spec and spec.origin else REPO
    return root if (root / "fuzz" / "targets.py").is_file() else REPO


def run_target(target: str, module: str, options: list[str], keep: Path) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"fuzz-{module}-"))
    try:
        corpus = work / "corpus"
        corpus.mkdir()
        command = [sys.executable, "-m", f"fuzz.{module}", str(corpus), *SEEDS, *options,
                   f"-artifact_prefix={work}/"]
        t0 = time.perf_counter()
        with (work / "log").open("w") as log:
            proc = subprocess.run(command, cwd=checkout(), stdout=log, stderr=subprocess.STDOUT, check=False)
        wall_s = time.perf_counter() - t0
        text = (work / "log").read_text(errors="replace")
        found = sorted(p for p in work.iterdir() if p.name.startswith(ARTIFACTS))
        if found:
            keep.mkdir(parents=True, exist_ok=True)
            for path in found:
                shutil.copy2(path, keep / path.name)
        done, status = DONE.findall(text), STATUS.findall(text)
        if not done or not status:
            raise RuntimeError(f"{module}: no libFuzzer summary (exit {proc.returncode}); the log ends:\n"
                               + text[-2000:])
        executions, seconds = map(int, done[-1])
        _, coverage, features, kept = map(int, status[-1])
        return {"target": target, "module": f"fuzz.{module}", "options": options, "exit_status": proc.returncode,
                "executions": executions, "seconds": seconds, "wall_s": round(wall_s, 1), "coverage": coverage,
                "features": features, "corpus": kept, "artifacts": [p.name for p in found]}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    begun = pages.begin()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--container-runs", type=int, default=1_000_000)
    ap.add_argument("--pillow-seconds", type=int, default=300)
    ap.add_argument("--keep", type=Path, default=REPO / "out" / "fuzz-artifacts",
                    help="where crash, timeout and out-of-memory inputs are copied")
    ap.add_argument("--out", type=Path, help="also write the JSON here")
    args = ap.parse_args()
    targets = [
        run_target("container parser", "fuzz_container", [f"-atheris_runs={args.container_runs}", "-timeout=10"],
                   args.keep),
        run_target("Pillow plugin", "fuzz_pillow", [f"-max_total_time={args.pillow_seconds}", "-timeout=20"],
                   args.keep),
    ]
    result = {"atheris": metadata.version("atheris"), "seeds": list(SEEDS), "targets": targets}
    result["meta"] = pages.meta("fuzz_runs.py", sys.argv[1:], begun)
    print(json.dumps(result, indent=2))
    if args.out:
        pages.write(args.out, result)
    if any(t["artifacts"] for t in targets):
        sys.exit(f"inputs that crashed or hung a target are in {args.keep}")


if __name__ == "__main__":
    main()

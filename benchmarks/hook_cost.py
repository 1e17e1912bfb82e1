"""What the Pillow hook costs a program that never imports Pillow: `python -X importtime -c "import json"`.

    python benchmarks/hook_cost.py [--runs 30] [--out docs/results/hook_cost.json]

Prints JSON: the median cumulative import time of `_roicodec_pillow_hook` (microseconds, as -X importtime reports
it) over fresh interpreters, and the median wall time of the whole start-up with the hook on and off. With ``--out``
it also writes the JSON there and, for docs/results/hook_cost.json, remakes the table in docs/pillow.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import py_compile
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pages

TARGET_US = 1000


def _hook_us(env: dict[str, str]) -> int | None:
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import json"], capture_output=True, text=True,
                          env=env, check=True)
    for line in proc.stderr.splitlines():
        if line.rstrip().endswith("_roicodec_pillow_hook"):
            return int(line.split("|")[1])
    return None


def _startup_s(env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import json"], check=True, env=env)
    return time.perf_counter() - t0


def _compile_hook() -> str:
    """Bring the hook's bytecode up to date, as pip does when it installs the wheel. Without it, an environment with
    ``PYTHONDONTWRITEBYTECODE`` set and a source newer than its ``.pyc`` (an editable install reinstalled) would time
    the compiler in every interpreter instead of the import."""
    hook = sys.modules.get("_roicodec_pillow_hook")  # this interpreter's own start-up imported it
    if hook is None:
        raise SystemExit("_roicodec_pillow_hook was not imported: is roicodec installed in this interpreter?")
    return py_compile.compile(hook.__file__, cfile=importlib.util.cache_from_source(hook.__file__), doraise=True)


def main() -> None:
    begun = pages.begin()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    on = {k: v for k, v in os.environ.items() if k != "ROICODEC_NO_PILLOW_HOOK"}
    off = dict(on, ROICODEC_NO_PILLOW_HOOK="1")
    _compile_hook()
    hook = [_hook_us(on) for _ in range(args.runs)]
    if None in hook:
        raise SystemExit("_roicodec_pillow_hook was not imported: is roicodec installed in this interpreter?")
    # On and off in turn, so that a drift in the machine's state (caches, another job) falls on both alike.
    startup_on, startup_off = [], []
    for _ in range(args.runs):
        startup_on.append(_startup_s(on))
        startup_off.append(_startup_s(off))
    result = {
        "command_measured": 'python -X importtime -c "import json"',
        "runs": args.runs,
        "hook_import_us_median": statistics.median(hook),
        "hook_import_us_max": max(hook),
        "startup_ms_median_hook_on": round(statistics.median(startup_on) * 1e3, 2),
        "startup_ms_median_hook_off": round(statistics.median(startup_off) * 1e3, 2),
        "target_us": TARGET_US,
        "meets_target": statistics.median(hook) < TARGET_US,
    }
    result["meta"] = pages.meta("hook_cost.py", sys.argv[1:], begun)
    print(json.dumps(result, indent=2))
    if args.out:
        pages.write(args.out, result)


if __name__ == "__main__":
    main()

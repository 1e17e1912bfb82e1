"""What the Pillow hook costs a program that never imports Pillow: `python -X importtime -c "import json"`.

    python benchmarks/hook_cost.py [--runs 30]

Prints JSON: the median cumulative import time of `_roicodec_pillow_hook` (microseconds, as -X importtime reports
it) over fresh interpreters, and the median wall time of the whole start-up with the hook on and off.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    on = {k: v for k, v in os.environ.items() if k != "ROICODEC_NO_PILLOW_HOOK"}
    off = dict(on, ROICODEC_NO_PILLOW_HOOK="1")
    hook = [_hook_us(on) for _ in range(args.runs)]
    if None in hook:
        raise SystemExit("_roicodec_pillow_hook was not imported: is roicodec installed in this interpreter?")
    startup_on = [_startup_s(on) for _ in range(args.runs)]
    startup_off = [_startup_s(off) for _ in range(args.runs)]
    print(json.dumps({
        "command": 'python -X importtime -c "import json"',
        "runs": args.runs,
        "hook_import_us_median": statistics.median(hook),
        "hook_import_us_max": max(hook),
        "startup_ms_median_hook_on": round(statistics.median(startup_on) * 1e3, 2),
        "startup_ms_median_hook_off": round(statistics.median(startup_off) * 1e3, 2),
        "target_us": 1000,
        "meets_target": statistics.median(hook) < 1000,
    }, indent=2))


if __name__ == "__main__":
    main()

"""Fuzz the container parser with atheris.

    python -m fuzz.fuzz_container WORK_DIR fuzz/corpus -atheris_runs=1000000

WORK_DIR collects the inputs the fuzzer finds interesting (keep it out of the repository); a crash stops the run
and writes crash-<hash>: copy it to fuzz/regressions/ and fix the cause.
"""

import sys

import atheris

with atheris.instrument_imports():
    from fuzz.targets import parse


def main() -> None:
    atheris.Setup(sys.argv, parse)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

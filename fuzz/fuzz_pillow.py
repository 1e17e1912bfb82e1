"""Fuzz ``Image.open(...).load()`` through the roicodec Pillow plugin with atheris (slower: it decodes pixels).

    python -m fuzz.fuzz_pillow WORK_DIR fuzz/corpus -atheris_runs=20000 -timeout=20
"""

import sys

import atheris

with atheris.instrument_imports(include=["roicodec", "fuzz"]):
    from fuzz.targets import pillow_load


def main() -> None:
    atheris.Setup(sys.argv, pillow_load)
    atheris.Fuzz()


if __name__ == "__main__":
    main()

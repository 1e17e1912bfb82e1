"""The package's shape: training stays out of what users install, and no two runtime modules import each other in a
circle."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
import zipfile
from pathlib import Path

import roicodec

SRC = Path(roicodec.__file__).parent
ROOT = SRC.parents[1]


def runtime_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages([str(SRC)], "roicodec.")
                  if not m.name.startswith("roicodec.segment.configs")  # mmseg config files, not modules
                  and not m.name.endswith(".__main__"))  # runs a command when imported


def test_no_runtime_module_loads_training_code(tmp_path) -> None:
    """Each runtime module in a fresh interpreter, importing nothing from ``training`` (nor anything it imports)."""
    code = (
        "import importlib, json, sys\n"
        "out = {}\n"
        "for name in sys.argv[1:]:\n"
        "    before = set(sys.modules)\n"
        "    importlib.import_module(name)\n"
        "    out[name] = sorted(m for m in set(sys.modules) - before if m == 'training' or m.startswith('training.'))\n"
        "print(json.dumps(out))\n"
    )
    modules = runtime_modules()
    assert "roicodec.encoder" in modules and "roicodec.napari._reader" in modules
    # Outside the repository root, where ``training`` could not be imported by accident of the working directory.
    run = subprocess.run([sys.executable, "-c", code, *modules], capture_output=True, text=True, cwd=tmp_path,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    assert {name: hit for name, hit in json.loads(run.stdout).items() if hit} == {}
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n == "training" or n.startswith("training.") for n in names), path


def _imports(path: Path, module: str) -> set[str]:
    """Every roicodec module that ``module`` (at ``path``) imports, at any depth of its code."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {name for name in found if name.startswith("roicodec")}


def test_no_import_cycle() -> None:
    modules = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        if "configs" not in parts:
            modules[".".join(parts)] = path
    graph = {m: {i for i in _imports(p, m) if i in modules and i != m} for m, p in modules.items()}
    # A package's __init__ re-exporting its own submodules is not a cycle of ideas: leave the package edges out.
    graph = {m: {i for i in deps if not m.startswith(i + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(m: str, trail: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycles.append(trail[trail.index(n):] + [n] if n in trail else [m, n])
            elif n not in state:
                visit(n, [*trail, n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert cycles == []


def test_the_wheel_holds_no_training_code(tmp_path) -> None:
    run = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w",
                          str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    (wheel,) = tmp_path.glob("roicodec-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "roicodec/encoder.py" in names and "roicodec/napari.yaml" in names
    assert not [n for n in names if n.startswith("training/") or "/train" in n or n.endswith(".ckpt")], names

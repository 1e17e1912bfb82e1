"""The base models' transforms on ONNX Runtime: the one way roicodec runs them, to read and to write.

Torch is 750 MB and a second of import; ONNX Runtime is made for inference and imports in 0.15 s. Each architecture
ships as weight-free graphs (``graphs/ARCHITECTURE-CONFIG.PART.onnx``, written by ``python -m training.export_onnx``
from the torch modules): their parameters are declared as external data, and the weight file's own arrays fill them
when a session is made, so no weight exists twice in the package and the ``.roi`` header's model hash (the weight
file's) identifies everything that decodes. A graph records the architecture, configuration and part it was made
for, and a session refuses a graph that was made for another, or parameters it does not declare.

Parts: ``g_s`` (latent to ``(1, H, W, 3)`` uint8 pixels, rounded and clamped inside the graph), ``g_a`` (uint8
pixels to the rounded latent), ``h_a`` (latent to the rounded hyper-latent) and ``preview``.

Threads: ``ROICODEC_THREADS`` if set, else ``OMP_NUM_THREADS`` (what torch followed, and what Dask's workers set to
1), else ONNX Runtime's default, one per physical core (torch's default too).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from roicodec.errors import ModelMismatchError

GRAPHS = Path(__file__).parent / "graphs"
PARTS = {"PaperAutoencoder": ("g_a", "g_s"), "FactorizedAutoencoder": ("g_a", "g_s"),
         "HyperpriorAutoencoder": ("g_a", "g_s", "h_a")}
"""The graphs each architecture ships; a preview head ships one, ``preview``."""
PREFIX = {"g_a": "g_a", "g_s": "g_s", "h_a": "h_a", "preview": "net"}
"""Where each part's parameters sit in a weight file's state dict (``param/PREFIX.*``)."""
SYNTHESIS_PARTS = frozenset({"g_s", "preview"})
"""The parts run block by block on bounded inputs (``base_model._synthesise``)."""
FORMAT = "1"
"""Version of what a graph's metadata promises (its inputs, outputs and parameter names); bumped with the exporter."""


def graph_name(architecture: str, config: dict[str, Any], part: str) -> str:
    """The file a graph of ``part`` for ``architecture`` with ``config`` lives in."""
    settings = "-".join(f"{k}{config[k]}" for k in sorted(config))
    return f"{architecture}-{settings}.{part}.onnx"


def threads() -> int:
    """Intra-op threads for every session (0: ONNX Runtime's default, one per physical core)."""
    for name in ("ROICODEC_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                return max(0, int(value))
            except ValueError:
                raise ValueError(f"{name}={value!r} is not a number of threads") from None
    return 0


class Graph:
    """One part of a model as an ONNX Runtime session: call it with its one input, get its one output."""

    def __init__(self, architecture: str, config: dict[str, Any], part: str, params: dict[str, np.ndarray],
                 folder: Path | None = None) -> None:
        import onnxruntime as ort  # here, not at import: opening a file's header needs no runtime

        path = (folder or GRAPHS) / graph_name(architecture, config, part)
        if not path.is_file():
            raise ModelMismatchError(f"no {part} graph for {architecture} {config} in {path.parent}: this roicodec "
                                     "cannot run that model; export its graphs (python -m training.export_onnx)")
        data = path.read_bytes()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads()
        options.inter_op_num_threads = 1
        # Synthesis runs in blocks of bounded size (base_model.BLOCK): its arena keeps one block's activations
        # whatever the image, and reusing them was faster (0.57 s against 0.60 s for a fresh 1.1 MP load) with a
        # steadier peak (180 MB against 177-200 MB). Analysis runs on whole tiles, whose activations an arena would
        # keep reserved after the tile is done: there each tile allocates anew.
        options.enable_cpu_mem_arena = part in SYNTHESIS_PARTS
        # A memory pattern is planned per input shape, and the blocks come in several: planned, a 1.1 MP load peaked
        # at 160 MB; allocated as each run goes, at 141 MB, in the same time.
        options.enable_mem_pattern = False
        options.log_severity_level = 3
        # Idle threads wait instead of spinning: a reader shares the machine (a viewer, other jobs), and spinning threads
        # that compete with them for cores made decoding about a third slower under load.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session_meta = self._declared(data, path)
        want = {"format": FORMAT, "architecture": architecture, "config": json.dumps(config, sort_keys=True),
                "part": part}
        got = {k: session_meta.get(k) for k in want}
        if got != want:
            raise ModelMismatchError(f"{path.name} was made for {got}, not {want}: export the graphs again")
        names = json.loads(session_meta["parameters"])
        missing = [n for n in names if n not in params]
        if missing:
            raise ModelMismatchError(f"{path.name} needs parameters the weights lack: {', '.join(missing[:5])}")
        # ONNX Runtime copies the values into the session; they only have to live until it is made.
        values = [ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(params[n], np.float32)) for n in names]
        options.add_external_initializers(names, values)
        try:
            self._session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - ONNX Runtime raises its own classes for shapes that differ
            raise ModelMismatchError(f"{path.name} does not fit these weights ({exc}): export the graphs again") \
                from None
        self._input = self._session.get_inputs()[0].name

    @staticmethod
    def _declared(data: bytes, path: Path) -> dict[str, str]:
        """The graph's metadata, read before a session exists (a session needs the parameter names first)."""
        try:
            return _metadata(data)
        except (ValueError, IndexError, UnicodeDecodeError) as exc:
            raise ModelMismatchError(f"{path.name} is not a roicodec graph ({exc}): export the graphs again") from None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._input: x})[0]


def parameters(arrays: Mapping[str, np.ndarray], prefix: str = "") -> dict[str, np.ndarray]:
    """A weight file's ``param/PREFIX*`` arrays by their module names, as float32: float16 storage halves a file, and
    the model it defines is the float32 value of those numbers. Only those arrays are read (``arrays`` may read
    lazily)."""
    start = f"param/{prefix}"
    return {k.removeprefix("param/"): arrays[k].astype(np.float32) for k in arrays if k.startswith(start)}


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _fields(data: bytes) -> list[tuple[int, int, bytes | int]]:
    """A protobuf message's top-level fields as (number, wire type, bytes or integer)."""
    out, i = [], 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
            out.append((number, wire, value))
        elif wire == 2:
            size, i = _varint(data, i)
            if i + size > len(data):
                raise ValueError("field runs past the end")
            out.append((number, wire, data[i:i + size]))
            i += size
        elif wire in (1, 5):
            i += 8 if wire == 1 else 4
        else:
            raise ValueError(f"wire type {wire}")
    return out


_METADATA_PROPS = 14
"""``ModelProto.metadata_props`` (onnx.proto): repeated ``{key = 1, value = 2}``. Read by hand, because the ``onnx``
package (protobuf and all) is an export-time tool, not something a reader should install."""


def _metadata(data: bytes) -> dict[str, str]:
    meta = {}
    for number, wire, value in _fields(data):
        if number == _METADATA_PROPS and wire == 2:
            entry = {n: v for n, w, v in _fields(value) if w == 2}  # type: ignore[arg-type]
            meta[bytes(entry.get(1, b"")).decode()] = bytes(entry.get(2, b"")).decode()
    return meta

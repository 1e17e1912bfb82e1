"""Write the weight-free ONNX graphs that roicodec runs its base models with (``roicodec.models.runtime``).

    python -m training.export_onnx [--to FOLDER] [weights.npz ...]

Without files, every shipped base model and preview head. A graph is made by walking the torch module of its
architecture (``roicodec.models.nets``) layer by layer, so the graph and the module that was trained cannot describe
different networks. Parameters are declared as external data under their state-dict names and carry no values: the
weight file fills them when a session is made. A graph is one file per architecture, configuration and part, shared by
every weight file of that shape; its metadata names all three and the parameters it needs. The bytes depend only on
the module's structure, so ``tests/models/test_runtime.py`` checks that the shipped graphs equal a fresh export.

GDN's parameters enter as the weight file stores them (square roots, lower-bounded) and the graph reparametrises them
with the same float32 operations as ``roicodec.models.layers.GDN``; ONNX Runtime folds that once per session.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from torch import nn

from roicodec import atomic, weights
from roicodec.models import nets, registry, runtime
from roicodec.models.layers import _PEDESTAL, GDN

OPSET = 17
IR_VERSION = 8
"""ONNX IR 8 / opset 17: what every ONNX Runtime since 1.13 loads."""


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.constants: list[onnx.TensorProto] = []
        self.parameters: list[str] = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def node(self, op: str, inputs: list[str], hint: str, **attrs: object) -> str:
        out = self.name(hint)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def constant(self, value: np.ndarray, hint: str) -> str:
        name = self.name(hint)
        self.constants.append(numpy_helper.from_array(value, name))
        return name

    def parameter(self, name: str, shape: tuple[int, ...]) -> str:
        """A float32 parameter whose value the weight file supplies (external data, no bytes in the graph)."""
        tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=list(shape),
                             data_location=TensorProto.EXTERNAL)
        entry = tensor.external_data.add()
        entry.key, entry.value = "location", "weights.npz"
        self.initializers.append(tensor)
        self.parameters.append(name)
        return name

    def lower_bounded_square(self, raw: str, minimum: float) -> str:
        # layers._non_negative: max(raw, sqrt(minimum + pedestal))**2 - pedestal, in float32 as torch computes it.
        bound = self.constant(np.array((minimum + _PEDESTAL) ** 0.5, np.float32), "bound")
        clamped = self.node("Max", [raw, bound], "clamped")
        square = self.node("Mul", [clamped, clamped], "square")
        return self.node("Sub", [square, self.constant(np.array(_PEDESTAL, np.float32), "pedestal")], "reparam")


def _taps(layer: nn.ConvTranspose2d) -> tuple[int, int, int, int, int]:
    """``(stride, kernel, padding, lo, hi)`` of a square transposed convolution whose output is exactly stride x its
    input: output ``s*i + a`` sums input ``i + d`` for ``d`` in ``lo..hi`` with kernel tap ``a + p - s*d``."""
    (s, s2), (k, k2), (p, p2), (op, op2) = layer.stride, layer.kernel_size, layer.padding, layer.output_padding
    if (s, k, p, op) != (s2, k2, p2, op2) or k + op - s - 2 * p != 0:
        raise SystemExit("only square transposed convolutions whose output is exactly stride x input convert")
    offsets = [d for d in range(-k, k + 1) if any(0 <= a + p - s * d < k for a in range(s))]
    return s, k, p, offsets[0], offsets[-1]


def _phase_deconv(b: _Builder, x: str, weight: str, bias: str | None, layer: nn.ConvTranspose2d,
                  before: int) -> str:
    """A transposed convolution as stride-1 convolutions in one (a phase per output pixel position, stacked as
    channels in DCR order): the same sums, in a form ONNX Runtime runs directly instead of through a column buffer of
    ``out x k x k`` times the input (473 MB for one 1024-pixel tile of ``g_s``). Its depth-to-space is left to the
    caller (:class:`_Phases`).

    ``before`` > 1: ``x`` itself is still phase-stacked, ``before`` x ``before`` phases of its own pixels, and the
    convolution runs on those phases as they are, giving ``(before * s)**2`` phases. That costs about four times the
    multiplications (most taps meet zeros), which pays on the last layer, whose outputs are three channels: the
    depth-to-space of its 64-channel input was a quarter of the synthesis's time.

    Output ``s*i + a`` of the transposed convolution sums input ``i + d`` with tap ``a + p - s*d`` (:func:`_taps`).
    Over phases, input ``n = before*m + q`` is phase ``q`` of cell ``m``: output phase ``(c, a)`` at cell ``i`` (the
    output ``s*(before*i + c) + a``) meets cell ``i + e`` phase ``q`` through tap ``a + p - s*(before*e + q - c)``.
    """
    s, k, p, lo, hi = _taps(layer)
    r = before
    e_lo, e_hi = lo // r, (r - 1 + hi) // r
    t = e_hi - e_lo + 1

    def tap(c: int, a: int, q: int, e: int) -> int:
        j = a + p - s * (r * e + q - c)
        return j if 0 <= j < k else k  # k: the zero tap

    index = np.array([[[[tap(c, a, q, e) for e in range(e_lo, e_hi + 1)] for q in range(r)] for a in range(s)]
                      for c in range(r)], np.int64)  # (c, a, q, e)
    cin, cout = layer.in_channels, layer.out_channels
    # (in, out, k, k), padded with one zero tap at index k, then gathered to (in, out, c, a, q, e, c', a', q', e')
    w = b.node("Pad", [weight, b.constant(np.array([0, 0, 0, 0, 0, 0, 1, 1], np.int64), "pads")], "wpad")
    taps = b.constant(index, "taps")
    w = b.node("Gather", [b.node("Gather", [w, taps], "rows", axis=2), taps], "cols", axis=6)
    # (c, a, c', a', out, q, q', in, e, e'): output phases row-major then channel (DCR, blocksize before * s), input
    # channels as the phases before were stacked (phase row, phase column, channel)
    w = b.node("Transpose", [w], "phases", perm=[2, 3, 6, 7, 1, 4, 8, 0, 5, 9])
    w = b.node("Reshape", [w, b.constant(np.array([(r * s) ** 2 * cout, r * r * cin, t, t], np.int64), "shape")],
               "kernel")
    inputs = [x, w]
    if bias is not None:
        inputs.append(b.node("Tile", [bias, b.constant(np.array([(r * s) ** 2], np.int64), "repeats")], "bias"))
    return b.node("Conv", inputs, "phase_conv", kernel_shape=[t, t], pads=[-e_lo, -e_lo, e_hi, e_hi])


class _Phases:
    """A tensor that may still be phase-stacked (``block`` x ``block`` phases of its channels, DCR order):
    pointwise layers run on it as it is, and :meth:`pixels` interleaves it when a layer needs the pixels."""

    def __init__(self, b: _Builder, x: str) -> None:
        self.b, self.x, self.block = b, x, 1

    def pixels(self) -> str:
        if self.block > 1:
            self.x = self.b.node("DepthToSpace", [self.x], "interleave", blocksize=self.block, mode="DCR")
            self.block = 1
        return self.x


def _layers(b: _Builder, x: str, module: nn.Sequential, prefix: str) -> str:
    layers = list(module)
    last_conv = max(i for i, layer in enumerate(layers) if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)))
    t = _Phases(b, x)
    for i, layer in enumerate(layers):
        key = f"{prefix}.{i}"
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
            w = b.parameter(f"{key}.weight", tuple(layer.weight.shape))
            bias = b.parameter(f"{key}.bias", tuple(layer.bias.shape)) if layer.bias is not None else None
            if isinstance(layer, nn.ConvTranspose2d):
                # Only the last layer runs on phases; before it, the extra products would cost more than the
                # interleave they save.
                before = t.block if i == last_conv else 1
                t.x = _phase_deconv(b, t.x if before > 1 else t.pixels(), w, bias, layer, before)
                t.block = before * layer.stride[0]
            else:
                t.x = b.node("Conv", [t.pixels(), w] + ([bias] if bias else []), "conv",
                             kernel_shape=list(layer.kernel_size), strides=list(layer.stride),
                             pads=[*layer.padding, *layer.padding])
        elif isinstance(layer, nn.ReLU):
            t.x = b.node("Relu", [t.x], "relu")
        elif isinstance(layer, nn.Sigmoid):
            t.x = b.node("Sigmoid", [t.x], "sigmoid")
        elif isinstance(layer, GDN):
            # Pointwise across channels of one pixel: on phases, one group per phase.
            groups = t.block * t.block
            beta = b.lower_bounded_square(b.parameter(f"{key}.beta", tuple(layer.beta.shape)), layer.beta_min)
            gamma = b.lower_bounded_square(b.parameter(f"{key}.gamma", tuple(layer.gamma.shape)), 0.0)
            kernel = b.node("Unsqueeze", [gamma, b.constant(np.array([2, 3], np.int64), "axes")], "kernel")
            grouped = {}
            if groups > 1:
                repeats = b.constant(np.array([groups], np.int64), "repeats")
                kernel = b.node("Tile", [kernel, b.constant(np.array([groups, 1, 1, 1], np.int64), "repeats")],
                                "kernels")
                beta = b.node("Tile", [beta, repeats], "betas")
                grouped = {"group": groups}
            x = t.x
            norm = b.node("Conv", [b.node("Mul", [x, x], "sq"), kernel, beta], "norm", kernel_shape=[1, 1], **grouped)
            root = b.node("Sqrt", [norm], "root")
            t.x = b.node("Mul", [x, root] if layer.inverse else [x, b.node("Reciprocal", [root], "inv")], "gdn")
        else:
            raise SystemExit(f"{key}: no ONNX form for {type(layer).__name__}; add one to training/export_onnx.py")
    return t.pixels()


def graph(module: nn.Sequential, prefix: str, part: str, architecture: str, config: dict) -> onnx.ModelProto:
    """The ONNX model of one part (see :mod:`roicodec.models.runtime` for what each part takes and gives)."""
    b = _Builder()
    channels = next(layer for layer in module if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d))).in_channels
    if part == "g_a":
        inp = helper.make_tensor_value_info("pixels", TensorProto.UINT8, [1, "height", "width", 3])
        x = b.node("Cast", ["pixels"], "float", to=TensorProto.FLOAT)
        x = b.node("Div", [x, b.constant(np.array(255.0, np.float32), "peak")], "unit")
        x = b.node("Transpose", [x], "nchw", perm=[0, 3, 1, 2])
    else:
        inp = helper.make_tensor_value_info("latent", TensorProto.FLOAT, [1, channels, "height", "width"])
        x = "latent"
    x = _layers(b, x, module, prefix)
    if part in ("g_s", "preview"):
        # As BaseModel did in torch: x * 255, rounded half to even, clamped, to uint8 channels-last.
        x = b.node("Mul", [x, b.constant(np.array(255.0, np.float32), "peak")], "scaled")
        x = b.node("Round", [x], "rounded")
        x = b.node("Clip", [x, b.constant(np.array(0.0, np.float32), "lo"),
                            b.constant(np.array(255.0, np.float32), "hi")], "clipped")
        x = b.node("Cast", [x], "bytes", to=TensorProto.UINT8)
        x = b.node("Transpose", [x], "nhwc", perm=[0, 2, 3, 1])
        out = helper.make_tensor_value_info("pixels", TensorProto.UINT8, [1, "out_height", "out_width", 3])
    else:
        x = b.node("Round", [x], "rounded")
        out = helper.make_tensor_value_info("latent_out", TensorProto.FLOAT, None)
    b.nodes.append(helper.make_node("Identity", [x], [out.name], name="output"))
    g = helper.make_graph(b.nodes, f"{architecture}.{part}", [inp], [out], initializer=b.initializers + b.constants)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="roicodec",
                              doc_string=f"roicodec {architecture} {part}: parameters from the weight file")
    model.ir_version = IR_VERSION
    helper.set_model_props(model, {"format": runtime.FORMAT, "architecture": architecture,
                                   "config": json.dumps(config, sort_keys=True), "part": part,
                                   "parameters": json.dumps(b.parameters)})
    return model


def graphs_for(meta: dict, arrays: dict[str, np.ndarray]) -> dict[str, bytes]:
    """Every graph a weight file needs, by file name: its architecture's parts, or a preview head's."""
    out = {}
    if "architecture" in meta:
        architecture, config = meta["architecture"], nets.config(meta)
        net = nets.ARCHITECTURES[architecture](**config)
        parts = [(getattr(net, p), p) for p in runtime.PARTS[architecture]]
    else:
        architecture, config = "PreviewHead", nets.preview_config(arrays)
        net = nets.PreviewHead(**config)
        parts = [(net.net, "preview")]
    for module, part in parts:
        model = graph(module, runtime.PREFIX[part], part, architecture, config)
        out[runtime.graph_name(architecture, config, part)] = model.SerializeToString()
    return out


def export(paths: list[Path], folder: Path) -> list[Path]:
    """Write the graphs of the weight files at ``paths`` into ``folder``; return what was written."""
    written = {}
    for path in paths:
        for name, data in graphs_for(*weights.read(path)).items():
            target = folder / name
            if target not in written and (not target.exists() or target.read_bytes() != data):
                folder.mkdir(parents=True, exist_ok=True)
                atomic.write_bytes(target, data)
            written[target] = True
    return list(written)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.export_onnx", description=__doc__.split("\n")[0])
    parser.add_argument("files", type=Path, nargs="*", help="weight files (default: every shipped one)")
    parser.add_argument("--to", type=Path, default=runtime.GRAPHS, help="folder for the graphs (default: the package's)")
    args = parser.parse_args(argv)
    files = args.files or sorted(registry.WEIGHTS.glob("*.npz"))
    for target in export(files, args.to):
        print(f"graph {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

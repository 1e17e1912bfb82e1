"""The hyperprior's integer synthesis gives the same indices everywhere: against an int64 reference written from the
definition of (transposed) convolution, against torch's float64 convolutions at 1, 2 and 4 threads, and in tiles."""

import numpy as np
import pytest

from roicodec.models.integer import EXACT, IntegerLayer, IntegerNetwork

SHIFT = 14


def _network(rng: np.random.Generator, cin: int = 5, mid: int = 7, cout: int = 6, scale: int = 20000,
             high: int = 63, last: int = 3) -> IntegerNetwork:
    # Weights as large as trained ones get (|w| up to about 1.2 at 2**-14 steps), biases that put the activations
    # in their range: the arithmetic is exercised where rounding and clamping both matter.
    def w(*shape: int) -> np.ndarray:
        return rng.integers(-scale, scale + 1, shape)

    layers = [
        IntegerLayer(w(cin, mid, 5, 5), rng.integers(0, 40 << SHIFT, mid), SHIFT, 2, 2, True, 1, 0, 255),
        IntegerLayer(w(mid, mid, 5, 5), rng.integers(0, 40 << SHIFT, mid), SHIFT, 2, 2, True, 1, 0, 255),
        IntegerLayer(w(cout, mid, last, last), rng.integers(0, 30 << SHIFT, cout), SHIFT, 1, last // 2, False, 0, 0,
                     high),
    ]
    return IntegerNetwork(layers, input_bound=40)


def _reference(net: IntegerNetwork, x: np.ndarray) -> np.ndarray:
    """Each layer from its definition in int64: a convolution gathers, a transposed convolution scatters."""
    a = x.astype(np.int64)
    for layer in net.layers:
        c, h, wd = a.shape
        k, s, p = layer.weight.shape[-1], layer.stride, layer.padding
        if layer.transposed:
            cout = layer.weight.shape[1]
            ho, wo = (h - 1) * s - 2 * p + k + layer.output_padding, (wd - 1) * s - 2 * p + k + layer.output_padding
            acc = np.zeros((cout, ho + 2 * k, wo + 2 * k), np.int64)  # room on each side, cut below
            for i in range(h):
                for j in range(wd):
                    # Input (i, j) adds weight x value to the k x k outputs that start at (i*s - p, j*s - p).
                    contrib = np.einsum("c,cokl->okl", a[:, i, j], layer.weight)
                    acc[:, k + i * s - p:k + i * s - p + k, k + j * s - p:k + j * s - p + k] += contrib
            acc = acc[:, k:k + ho, k:k + wo]
        else:
            cout = layer.weight.shape[0]
            padded = np.pad(a, ((0, 0), (p, p), (p, p)))
            ho, wo = (h + 2 * p - k) // s + 1, (wd + 2 * p - k) // s + 1
            acc = np.zeros((cout, ho, wo), np.int64)
            for i in range(ho):
                for j in range(wo):
                    patch = padded[:, i * s:i * s + k, j * s:j * s + k]
                    acc[:, i, j] = np.einsum("ckl,ockl->o", patch, layer.weight)
        acc += layer.bias[:, None, None] + (1 << (layer.shift - 1))
        a = np.clip(acc >> layer.shift, layer.low, layer.high)
    return a


@pytest.mark.parametrize("last", [3, 1])  # 1: the shipped hyperpriors' last layer, which runs unfolded
def test_matches_an_int64_reference_written_from_the_definitions(last: int) -> None:
    rng = np.random.default_rng(3)
    net = _network(rng, last=last)
    z = rng.integers(-40, 41, (5, 6, 7))
    out = net(z)
    ref = _reference(net, z)
    assert out.shape == ref.shape == (6, 24, 28)
    assert np.array_equal(out, ref)
    # Not a network that clamps everything to one end: the indices spread over the range.
    assert len(np.unique(out)) > 20 and out.min() == 0 and out.max() == 63


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_torch_float64_at_any_thread_count_gives_the_same_indices(threads: int) -> None:
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    rng = np.random.default_rng(4)
    net = _network(rng, cin=16, mid=32, cout=24)
    z = rng.integers(-40, 41, (16, 12, 15))
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a = torch.from_numpy(z.astype(np.float64))[None]
        for layer in net.layers:
            w = torch.from_numpy(layer.weight.astype(np.float64))
            b = torch.from_numpy(layer.bias.astype(np.float64))
            if layer.transposed:
                acc = F.conv_transpose2d(a, w, b, layer.stride, layer.padding, layer.output_padding)
            else:
                acc = F.conv2d(a, w, b, layer.stride, layer.padding)
            a = torch.floor((acc + 2.0 ** (layer.shift - 1)) / 2.0 ** layer.shift).clamp(layer.low, layer.high)
    finally:
        torch.set_num_threads(before)
    assert np.array_equal(a[0].numpy().astype(np.int32), net(z))


def test_large_inputs_are_cut_into_chunks_without_changing_a_value(monkeypatch) -> None:
    import roicodec.models.integer as integer

    rng = np.random.default_rng(5)
    net = _network(rng)
    z = rng.integers(-40, 41, (5, 9, 11))
    whole = net(z)
    monkeypatch.setattr(integer, "_CHUNK", 64)  # a few output rows per matrix product
    assert np.array_equal(net(z), whole)


def test_a_network_whose_sums_could_leave_exact_arithmetic_is_refused() -> None:
    layer = IntegerLayer(np.full((4, 4, 5, 5), 2 ** 40, np.int64), np.zeros(4, np.int64), SHIFT, 2, 2, True, 1, 0,
                         255)
    with pytest.raises(ValueError, match="exact"):
        IntegerNetwork([layer], input_bound=1000)
    net = _network(np.random.default_rng(6))
    assert net.bound() < EXACT
    with pytest.raises(ValueError, match="bound"):
        net(np.full((5, 2, 2), 41))

"""An integer network (Ballé, Johnston and Minnen, ICLR 2019): the hyperprior's synthesis, which turns the coded
hyper-latent into the index of each latent cell's coding table.

The decoder must compute exactly the indices the encoder used, on any CPU, thread count or library version, or the
range decoder desynchronises and the rest of the image is noise. So this network has integer weights, integer biases
and integer activations, and every layer's sum stays far below 2**53: in float64 each product and each partial sum
is an exact integer, the order of summation (BLAS blocking, threads) cannot change the result, and the rescale by a
power of two and the floor are exact too. :meth:`IntegerNetwork.bound` proves the bound for the loaded weights before
anything runs.

Layers follow torch's conventions (``Conv2d`` weights ``(out, in, k, k)``, ``ConvTranspose2d`` weights
``(in, out, k, k)``), so a network trained in torch exports by rounding its weights. Each layer computes
``floor((sum + bias + 2**(shift-1)) / 2**shift)``, that is ``round(sum / 2**shift)`` with ties up, and clamps it to
its range: ``[0, 255]`` inside (a bounded ReLU); at the output, per channel, a table index or a mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

EXACT = 2.0 ** 52
"""Sums are kept below this, where float64 represents every integer and every sum of two of them exactly."""
_CHUNK = 1 << 22
"""Elements of the unfolded input per matrix product: bounds memory on large images without changing any result."""


@dataclass(frozen=True)
class IntegerLayer:
    weight: np.ndarray
    """Integers, torch's layout for ``transposed`` or not."""
    bias: np.ndarray
    """Integers, one per output channel, in the units of the sum (before the shift)."""
    shift: int
    stride: int
    padding: int
    transposed: bool
    output_padding: int
    low: int | np.ndarray
    high: int | np.ndarray
    """Each output's range: one for all channels, or one per channel (the hyperprior's last layer gives table
    indices and means side by side)."""

    @cached_property
    def kernel(self) -> np.ndarray:
        """The layer as a stride-1 convolution ``(out, in, k, k)``, in float64 (its integers exactly): a transposed
        convolution's kernel flipped. Made once: remade for every band, it and its conversion cost a sixth of the
        tables' time."""
        k = self.weight.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1] if self.transposed else self.weight
        return np.ascontiguousarray(k, np.float64)


def _conv(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, stride: int, pads: tuple[int, int, int, int],
          shift: int, low: int | np.ndarray, high: int | np.ndarray) -> np.ndarray:
    """A zero-padded convolution of ``x`` ``(C, H, W)`` with ``kernel`` ``(out, in, kh, kw)``, rescaled, rounded and
    clamped: exact for integer inputs."""
    top, bottom, left, right = pads
    if any(pads):
        x = np.pad(x, ((0, 0), (top, bottom), (left, right)))
    cout, cin, kh, kw = kernel.shape
    w = kernel.reshape(cout, cin * kh * kw)  # float64 already (IntegerLayer.kernel)
    b = bias.astype(np.float64)[:, None] + 2.0 ** (shift - 1)
    scale = 2.0 ** -shift
    low, high = (np.asarray(v, np.float64).reshape(-1, 1, 1) for v in (low, high))
    if kh == kw == stride == 1:
        # A 1x1 layer (the hyperprior's last, at the latent's full size) multiplies the input as it lies: unfolding
        # it would copy the largest activation for nothing. Same products, same sums.
        ho, wo = x.shape[1:]
        acc = w @ x.reshape(cin, -1)
        acc += b
        acc *= scale
        out = np.floor(acc, out=acc).reshape(cout, ho, wo)
        return np.clip(out, low, high, out=out)
    windows = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::stride, ::stride]  # (C, Ho, Wo, kh, kw), a view
    ho, wo = windows.shape[1:3]
    out = np.empty((cout, ho, wo), np.float64)
    rows = max(1, _CHUNK // max(1, cin * kh * kw * wo))
    for y0 in range(0, ho, rows):
        cols = windows[:, y0:y0 + rows].transpose(0, 3, 4, 1, 2).reshape(cin * kh * kw, -1)
        acc = w @ cols
        acc += b
        acc *= scale
        out[:, y0:y0 + rows] = np.floor(acc, out=acc).reshape(cout, -1, wo)
    return np.clip(out, low, high, out=out)


def _phase(out_size: int, stride: int, lo: int, r: int) -> tuple[int, int, int]:
    """For the outputs ``r, r + stride, ...`` of a transposed convolution along one axis: the first kernel tap that
    meets an input sample (taps ``j0, j0 + stride, ...`` do), the input offset of the first output, and how many
    outputs there are. Output ``stride * q + r`` sums ``x[q + t + offset] * kernel[j0 + stride * t]``."""
    j0 = (lo - r) % stride
    return j0, (r + j0 - lo) // stride, len(range(r, out_size, stride))


def _transposed(a: np.ndarray, layer: IntegerLayer) -> np.ndarray:
    """A transposed convolution as ``stride**2`` stride-1 convolutions of the input, one per output phase, each with
    the kernel taps that phase meets: the same products and sums as convolving the zero-spread input, without the
    ``stride**2``-fold work on zeros."""
    kernel, s, k = layer.kernel, layer.stride, layer.kernel.shape[-1]
    h, w = a.shape[1:]
    lo = k - 1 - layer.padding
    extra = k - 2 * layer.padding + layer.output_padding
    ho, wo = (h - 1) * s + extra, (w - 1) * s + extra
    out = np.empty((kernel.shape[0], ho, wo), np.float64)
    margin = k + s  # zeros around the input, so that every phase's window is a plain slice
    padded = np.pad(a, ((0, 0), (margin, margin), (margin, margin)))
    low, high = np.asarray(layer.low), np.asarray(layer.high)
    for ry in range(min(s, ho)):
        jy, dy, qy = _phase(ho, s, lo, ry)
        for rx in range(min(s, wo)):
            jx, dx, qx = _phase(wo, s, lo, rx)
            sub = kernel[:, :, jy::s, jx::s]
            ty, tx = sub.shape[2:]
            window = padded[:, margin + dy:margin + dy + qy + ty - 1, margin + dx:margin + dx + qx + tx - 1]
            out[:, ry::s, rx::s] = _conv(window, sub, layer.bias, 1, (0, 0, 0, 0), layer.shift, low, high)
    return out


class IntegerNetwork:
    """A stack of :class:`IntegerLayer`; maps an integer ``(C, H, W)`` array to integers in the last layer's range."""

    def __init__(self, layers: list[IntegerLayer], input_bound: int) -> None:
        self.layers = layers
        self.input_bound = input_bound
        worst = self.bound()
        if worst >= EXACT:
            raise ValueError(f"integer network's sums reach {worst:.3g}, beyond exact float64 arithmetic")

    def bound(self) -> float:
        """The largest magnitude any layer's sum (bias and rounding offset included) can reach for inputs within
        ``input_bound``: each output's sum of |weight| times the largest input, layer by layer."""
        worst, top = 0.0, float(self.input_bound)
        for layer in self.layers:
            per_out = np.abs(layer.kernel).sum(axis=(1, 2, 3)) * top + np.abs(layer.bias.astype(np.float64)) + 2.0 ** layer.shift
            worst = max(worst, float(per_out.max()))
            top = float(max(np.abs(layer.low).max(), np.abs(layer.high).max()))
        return worst

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if x.size and np.abs(x).max() > self.input_bound:
            raise ValueError(f"integer network input beyond its bound {self.input_bound}")
        a = x.astype(np.float64)
        with _one_blas_thread():
            for layer in self.layers:
                if layer.transposed:
                    a = _transposed(a, layer)
                else:
                    p = layer.padding
                    a = _conv(a, layer.kernel, layer.bias, layer.stride, (p, p, p, p), layer.shift, layer.low,
                              layer.high)
        return a.astype(np.int32)


_blas: Any = None


def _one_blas_thread() -> Any:
    """A context in which NumPy's BLAS runs on one thread. Its worker threads otherwise keep spinning for a while
    after each product, on the cores the synthesis that follows needs: a Kodak image's base decoded 37 ms slower
    after this network than without it, 14 ms with this."""
    global _blas
    if _blas is None:
        from threadpoolctl import ThreadpoolController

        _blas = ThreadpoolController()
    return _blas.limit(limits=1, user_api="blas")

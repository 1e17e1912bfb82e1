"""Hand freed memory back to the system between tiles (glibc's ``malloc_trim``), where the C library has it."""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from functools import cache, partial


@cache
def _heap_trimmer() -> Callable[[], object]:
    """glibc's ``malloc_trim(0)``, or nothing on a C library without it.

    glibc keeps what a tile frees (torch's convolution buffers above all, a few hundred MiB) in its heaps and reuses
    it only in part: without handing it back before each tile, a process holds far more once a plane spans a few
    tiles. Giving it back costs page faults on the next tile; docs/scaling.md measures both, with the trim and
    without (``python benchmarks/scaling.py``). Dask's workers trim for the same reason.
    """
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):  # no such symbol (macOS, musl), or no process handle (Windows)
        return lambda: None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return partial(trim, 0)


def trim() -> None:
    """Give the heap's free memory back: call before each tile, once the last tile's temporaries are free."""
    _heap_trimmer()()

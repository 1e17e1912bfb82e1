"""A file's SHA-256, read a block at a time: the one way roicodec identifies a file's contents (model weights,
a batch job's sources, downloaded checkpoints)."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

_BLOCK = 1 << 20
_cache: dict[str, tuple[int, int, bytes]] = {}
_lock = threading.Lock()


def sha256(path: str | os.PathLike[str]) -> bytes:
    """The SHA-256 of the file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_BLOCK), b""):
            h.update(block)
    return h.digest()


def cached_sha256(path: str | os.PathLike[str]) -> bytes:
    """:func:`sha256`, remembered while the file keeps its size and modification time: the shipped weights are
    hashed once per process, not each time a plane is coded (a stack of small planes would spend more time
    hashing than coding)."""
    key = os.fspath(Path(path).resolve())
    st = os.stat(key)
    with _lock:
        hit = _cache.get(key)
    if hit is not None and hit[:2] == (st.st_size, st.st_mtime_ns):
        return hit[2]
    value = sha256(key)
    with _lock:
        _cache[key] = (st.st_size, st.st_mtime_ns, value)
    return value

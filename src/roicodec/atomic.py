"""Write a file so that readers see the old file or the new one, never a part of either."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextmanager
def replacing(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """Yield a temporary file beside ``path``, opened for reading and writing; when the block ends without an error,
    flush it to disk and rename it over ``path``, else remove it.

    Writers that map the file instead of writing to it (``np.memmap``) open ``f.name``, the temporary file's path,
    and flush their mapping before the block ends.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)  # reopened by name below, so that ``f.name`` is the path that mapping writers need
    try:
        # mkstemp makes the file private; give it the mode a plain open() would have.
        os.chmod(tmp, 0o666 & ~_UMASK)
        with open(tmp, "w+b") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, flush it to disk, then rename it over ``path``."""
    with replacing(path) as f:
        f.write(data)
    return Path(path)

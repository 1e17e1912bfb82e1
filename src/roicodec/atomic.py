"""Write a file so that readers see the old file or the new one, never a part of either, and never lose an input.

Only a regular file (or a path where nothing is yet) is replaced atomically: a temporary file beside it is written,
flushed to disk and renamed over it. A symbolic link is followed, so its target is replaced and the link stays. A
FIFO or a character or block device is written straight through, as ``cat > fifo`` would: that write is not atomic,
and a failure part way leaves what was written. A directory or a socket is refused.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from roicodec.errors import OutputError

_UMASK = os.umask(0)
os.umask(_UMASK)

PathLike = str | os.PathLike[str]


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()  # follows symbolic links: what matters is what the link points at
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from None


def streams(path: PathLike) -> bool:
    """Whether writing to ``path`` goes straight through (a FIFO or a device) rather than by atomic replace."""
    st = _stat(Path(path))
    return st is not None and not stat.S_ISREG(st.st_mode) and not stat.S_ISDIR(st.st_mode)


def check_not_input(path: PathLike, inputs: Iterable[PathLike | None]) -> None:
    """Refuse ``path`` if it is the same file as one of ``inputs``, however spelled (relative, through a link, a hard
    link): writing there would destroy the data being read."""
    target = Path(path)
    if _stat(target) is None:
        return
    for source in inputs:
        if source is None:
            continue
        try:
            same = os.path.samefile(target, source)
        except OSError:  # an input that is not a file on disk (gone, or a name that was never a path)
            continue
        if same:
            raise OutputError(f"output {os.fspath(path)} is the input {os.fspath(source)}: writing it would destroy "
                              "the input; name another output file")


@contextmanager
def replacing(path: PathLike, *, inputs: Iterable[PathLike | None] = ()) -> Iterator[BinaryIO]:
    """Yield a file to write ``path``'s new contents into; when the block ends without an error, they take its place
    (see the module's description of what each kind of path gets); on an error, a regular ``path`` keeps its old
    contents and no temporary file stays behind.

    ``inputs`` are the files the contents are made from: a ``path`` that is one of them is refused before anything is
    written. For a regular target the yielded file is a temporary one, opened for reading and writing: writers that
    map the file instead of writing to it (``np.memmap``) open ``f.name`` and flush their mapping before the block
    ends. They must check :func:`streams` first, for a FIFO cannot be mapped.

    Errors name ``path``, never the temporary file.
    """
    user = os.fspath(path)
    check_not_input(path, inputs)
    st = _stat(Path(path))
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise OutputError(f"cannot write {user}: it is a directory; name a file inside it")
    if st is not None and stat.S_ISSOCK(st.st_mode):
        raise OutputError(f"cannot write {user}: it is a socket; name a regular file, a FIFO or -")
    if st is not None and not stat.S_ISREG(st.st_mode):
        # Opened by the name given: a link such as /proc/self/fd/1 means the opening process's descriptor, which
        # resolving it here first would get wrong.
        with _opened(user, Path(path), "wb") as f:
            yield f
        return
    target = Path(os.path.realpath(path))  # a link's target is what gets replaced; the link stays
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except FileNotFoundError:
        raise OutputError(f"cannot write {user}: its folder {target.parent} does not exist") from None
    except OSError as exc:
        raise OutputError(f"cannot write {user}: {exc.strerror} ({target.parent})") from None
    os.close(fd)  # reopened by name below, so that ``f.name`` is the path that mapping writers need
    try:
        # mkstemp makes the file private: give it the mode of the file it replaces, else the one open() would give.
        os.chmod(tmp, stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_UMASK)
        with open(tmp, "w+b") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def _opened(user: str, target: Path, mode: str) -> Iterator[BinaryIO]:
    try:
        f = open(target, mode)  # noqa: SIM115 - closed below, after the caller's block
    except OSError as exc:
        raise OutputError(f"cannot write {user}: {exc.strerror}") from None
    try:
        yield f
        f.flush()  # e.g. ENOSPC from /dev/full may show only when the buffer is flushed
    except OSError as exc:
        if exc.errno == errno.EPIPE or isinstance(exc, OutputError):
            raise
        raise OutputError(f"cannot write {user}: {exc.strerror or exc}") from None
    finally:
        try:
            f.close()
        except OSError:  # the buffer the failed write left behind; the error above is the one to report
            pass


def write_bytes(path: PathLike, data: bytes, *, inputs: Iterable[PathLike | None] = ()) -> Path:
    """Write ``data`` to ``path`` as :func:`replacing` does."""
    with replacing(path, inputs=inputs) as f:
        f.write(data)
    return Path(path)

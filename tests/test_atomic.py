"""Nothing is lost on failure: an interrupted or failed write leaves the previous file whole, or no file."""

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import roicodec
from roicodec import atomic
from roicodec.cli import main


def test_replaces_whole_file(tmp_path) -> None:
    path = tmp_path / "a.roi"
    path.write_bytes(b"old")
    atomic.write_bytes(path, b"new contents")
    assert path.read_bytes() == b"new contents"
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~atomic._UMASK
    assert [p.name for p in tmp_path.iterdir()] == ["a.roi"]


def _full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_keeps_previous_file(tmp_path, monkeypatch, small) -> None:
    path = tmp_path / "a.roi"
    path.write_bytes(b"previous")
    monkeypatch.setattr(os, "fsync", _full_disk)
    with pytest.raises(OSError, match="No space left"):
        roicodec.encode(small[0], path=path)
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["a.roi"]


def test_cli_reports_full_disk_in_one_line(tmp_path, monkeypatch, capsys, small) -> None:
    from PIL import Image

    Image.fromarray(small[0]).save(tmp_path / "in.png")
    monkeypatch.setattr(os, "fsync", _full_disk)
    assert main(["encode", str(tmp_path / "in.png"), "-o", str(tmp_path / "out.roi")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err
    assert not (tmp_path / "out.roi").exists()


def test_file_size_limit_from_the_os(tmp_path, small_file) -> None:
    """A real write failure (RLIMIT_FSIZE) in a child process: the old file survives, the CLI says why."""
    (tmp_path / "in.roi").write_bytes(small_file)
    (tmp_path / "out.png").write_bytes(b"previous")
    code = textwrap.dedent(f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
        from roicodec.cli import main
        sys.exit(main(["decode", {str(tmp_path / "in.roi")!r}, "-o", {str(tmp_path / "out.png")!r}]))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "File too large" in proc.stderr and "Traceback" not in proc.stderr
    assert (tmp_path / "out.png").read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.roi", "out.png"]


def test_kill_during_encode_leaves_old_file_or_none(tmp_path) -> None:
    """SIGKILL at several moments of an encode: the target is always the previous file, whole."""
    target = tmp_path / "big.roi"
    previous = roicodec.encode(np.full((64, 64, 3), 90, np.uint8))
    code = textwrap.dedent(f"""
        import numpy as np, roicodec, sys
        image = np.random.default_rng(0).integers(0, 256, (1024, 1536, 3), dtype=np.uint8)
        print("ready", flush=True)
        while True:
            roicodec.encode(image, path={str(target)!r})
    """)
    for delay in (0.0, 0.3, 0.7, 1.1, 1.6, 2.2):
        target.write_bytes(previous)
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        data = target.read_bytes()
        with roicodec.open(data) as f:  # either the previous file or a complete new one, never a part
            assert data == previous or f.levels == f.header.levels
            f.decode(0)
    # A killed writer can leave its hidden temporary file; never a partial file under the target's name.
    assert all(p.name == "big.roi" or p.name.startswith(".big.roi.") for p in tmp_path.iterdir())


def _fail_on_call(monkeypatch, module, name: str, call: int, exc: BaseException) -> None:
    """Make ``module.name`` raise ``exc`` on its ``call``-th call."""
    real, calls = getattr(module, name), []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            raise exc
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, failing)


@pytest.mark.parametrize("where", ["tile", "layer copy"])
def test_failure_mid_encode_leaves_no_output(tmp_path, monkeypatch, astronaut, where) -> None:
    """The file is written chunk by chunk: a failure after some are out leaves the previous file, or none."""
    from roicodec import codec, ladder

    image = np.ascontiguousarray(astronaut[:150, :200])
    if where == "tile":  # the base is in the file, the layers half made
        _fail_on_call(monkeypatch, ladder, "encode_tile", 4, OSError(errno.EIO, os.strerror(errno.EIO)))
    else:  # the bases and the mask are in the file
        _fail_on_call(monkeypatch, codec, "_copy", 2, OSError(errno.EIO, os.strerror(errno.EIO)))
    with pytest.raises(OSError, match="Input/output error"):
        roicodec.encode(image, path=tmp_path / "new.roi", tile=64)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "old.roi").write_bytes(b"previous")
    monkeypatch.undo()
    _fail_on_call(monkeypatch, ladder, "encode_tile", 4, OSError(errno.EIO, os.strerror(errno.EIO)))
    with pytest.raises(OSError):
        roicodec.encode(image, path=tmp_path / "old.roi", tile=64)
    assert [p.name for p in tmp_path.iterdir()] == ["old.roi"]
    assert (tmp_path / "old.roi").read_bytes() == b"previous"


def test_failure_mid_decode_leaves_no_output(tmp_path, monkeypatch, capsys, astronaut) -> None:
    """The CLI decodes into a mapped .npy a tile at a time: a failure part way leaves no partial output."""
    from roicodec import ladder
    from roicodec.errors import CorruptFileError

    roicodec.encode(np.ascontiguousarray(astronaut[:150, :200]), path=tmp_path / "in.roi", tile=64)
    _fail_on_call(monkeypatch, ladder, "decode_tile", 3, CorruptFileError("tile 3 is damaged: the file is damaged"))
    assert main(["decode", str(tmp_path / "in.roi"), "-o", str(tmp_path / "out.npy")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tile 3 is damaged" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.roi"]

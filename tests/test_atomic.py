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


def _wait_for(proc: subprocess.Popen, errors, condition, what: str) -> None:
    """Poll until ``condition()``, failing with the child's error if it dies first."""
    deadline = time.monotonic() + 120
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the writer died (status {proc.returncode}) before {what}: {errors.read_text()}")
        assert time.monotonic() < deadline, f"the writer never got to {what}"
        time.sleep(0.005)


def test_kill_during_encode_leaves_old_file_or_new_one(tmp_path) -> None:
    """SIGKILL while a child writes: before its first file is complete the target is the previous file, byte for
    byte; after it, the complete new file; never a part. Each kill must find the child alive and inside a write
    (its temporary file open), for a child that died of its own error tests nothing: noise once crashed the encoder
    before any kill came."""
    folder = tmp_path / "out"
    folder.mkdir()
    target, errors = folder / "big.roi", tmp_path / "stderr.txt"
    previous = roicodec.encode(np.full((64, 64, 3), 90, np.uint8))
    code = textwrap.dedent(f"""
        import itertools, numpy as np, roicodec
        image = np.random.default_rng(0).integers(0, 256, (512, 768, 3), dtype=np.uint8)
        for n in itertools.count(1):
            roicodec.encode(image, path={str(target)!r})
            print(n, flush=True)
    """)

    def temporaries(min_size: int = 0) -> list:
        return [p for p in folder.iterdir() if p.name.startswith(".big.roi.") and p.stat().st_size >= min_size]

    # Killed as its temporary file appears, once the base chunk is in it, and during the write after a whole one.
    for moment in ("opened", "base written", "after a complete file"):
        for leftover in temporaries():
            leftover.unlink()
        target.write_bytes(previous)
        with errors.open("w") as err:
            proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            if moment == "after a complete file":
                assert proc.stdout.readline().strip() == "1", errors.read_text()
                done = {p.name for p in temporaries()}
                _wait_for(proc, errors, lambda: {p.name for p in temporaries()} - done, "its second write")
            else:
                _wait_for(proc, errors, lambda: temporaries(1000 if moment == "base written" else 0), moment)
            proc.send_signal(signal.SIGKILL)
            assert proc.wait() == -signal.SIGKILL, errors.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
        assert temporaries(), moment  # the kill came inside a write, which a killed writer cannot clean up
        data = target.read_bytes()
        if moment == "after a complete file":
            assert data != previous
            with roicodec.open(data) as f:
                assert f.levels == f.header.levels and f.size == (768, 512)
                assert f.decode().shape == (512, 768, 3)
        else:
            assert data == previous, moment
    # A killed writer can leave its hidden temporary file; never a partial file under the target's name.
    assert all(p.name == "big.roi" or p.name.startswith(".big.roi.") for p in folder.iterdir())


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
    from roicodec import encoder, ladder

    image = np.ascontiguousarray(astronaut[:150, :200])
    if where == "tile":  # the base is in the file, the layers half made
        _fail_on_call(monkeypatch, ladder, "encode_tile", 4, OSError(errno.EIO, os.strerror(errno.EIO)))
    else:  # the bases and the mask are in the file
        _fail_on_call(monkeypatch, encoder, "_copy", 2, OSError(errno.EIO, os.strerror(errno.EIO)))
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
    # The reader applies each tile's layers with apply_tile (their codecs ran a tile ahead).
    _fail_on_call(monkeypatch, ladder, "apply_tile", 3, CorruptFileError("tile 3 is damaged: the file is damaged"))
    assert main(["decode", str(tmp_path / "in.roi"), "-o", str(tmp_path / "out.npy")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tile 3 is damaged" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.roi"]

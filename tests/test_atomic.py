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
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
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

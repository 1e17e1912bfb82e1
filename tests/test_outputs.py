"""Issue 14, bullet 1: writing never replaces what is not a regular file, and never an input; errors name the user's
target. The CLI runs in a subprocess, as a user runs it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import roicodec
from roicodec import atomic


def roicodec_cli(*args: str, cwd: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "roicodec.cli", *args], cwd=cwd, capture_output=True, input=stdin,
                          timeout=300)


@pytest.fixture()
def work(tmp_path: Path, small: tuple[np.ndarray, np.ndarray], small_file: bytes) -> Path:
    Image.fromarray(small[0]).save(tmp_path / "a.png")
    Image.fromarray(small[1]).save(tmp_path / "m.png")
    (tmp_path / "p.roi").write_bytes(small_file)
    return tmp_path


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.is_symlink()}


def _refused(result: subprocess.CompletedProcess, *words: str) -> str:
    err = result.stderr.decode()
    assert result.returncode == 1 and err.startswith("roicodec: error:") and err.count("\n") == 1, err
    for word in words:
        assert word in err, err
    assert ".tmp" not in err, err  # the user's target, never the hidden temporary
    return err


def test_output_that_is_an_input_is_refused_however_spelled(work: Path) -> None:
    (work / "copy.roi").write_bytes((work / "p.roi").read_bytes())
    os.link(work / "a.png", work / "hard.png")
    (work / "sub").mkdir()
    os.symlink(work / "m.png", work / "mask-link.png")
    before = _snapshot(work)
    _refused(roicodec_cli("encode", "copy.roi", cwd=work), "copy.roi", "input")  # the default output is the input
    _refused(roicodec_cli("encode", "a.png", "-o", "a.png", cwd=work), "a.png")
    _refused(roicodec_cli("encode", "a.png", "-o", "sub/../hard.png", cwd=work), "hard.png")  # a hard link of it
    _refused(roicodec_cli("encode", "a.png", "--mask", "m.png", "-o", "mask-link.png", cwd=work), "m.png")
    _refused(roicodec_cli("decode", "p.roi", "-o", "p.roi", cwd=work), "p.roi")
    _refused(roicodec_cli("decode", "p.roi", "-o", str(work / "p.roi"), "--format", "png", cwd=work), "p.roi")
    assert _snapshot(work) == before
    assert (work / "mask-link.png").is_symlink()


def test_api_refuses_to_write_over_the_file_it_reads(work: Path) -> None:
    before = _snapshot(work)
    with Image.open(work / "a.png") as im, pytest.raises(roicodec.OutputError, match="is the input"):
        roicodec.encode(im, None, work / "a.png")
    memmap = np.lib.format.open_memmap(work / "m.npy", "w+", np.uint8, (4, 4))
    memmap[:] = 1
    memmap.flush()
    kept = (work / "m.npy").read_bytes()
    with pytest.raises(roicodec.OutputError, match="is the input"):
        roicodec.encode(np.zeros((4, 4), np.uint8), memmap, work / "m.npy")
    del memmap
    assert (work / "m.npy").read_bytes() == kept
    assert {k: v for k, v in _snapshot(work).items() if k != "m.npy"} == before


def test_errors_name_the_target_not_the_temporary(work: Path) -> None:
    (work / "somedir").mkdir()
    _refused(roicodec_cli("encode", "a.png", "-o", "nodir/x.roi", cwd=work), "nodir/x.roi", "does not exist")
    _refused(roicodec_cli("encode", "a.png", "-o", "somedir/", cwd=work), "somedir", "is a directory")
    assert sorted(p.name for p in work.iterdir()) == ["a.png", "m.png", "p.roi", "somedir"]
    assert not list((work / "somedir").iterdir())


def test_a_symlink_is_followed_and_stays_a_link(work: Path) -> None:
    os.symlink("target.png", work / "link.png")  # dangling: its target is created
    assert roicodec_cli("decode", "p.roi", "-o", "link.png", cwd=work).returncode == 0
    assert (work / "link.png").is_symlink() and (work / "target.png").is_file()
    first = (work / "target.png").read_bytes()
    os.chmod(work / "target.png", 0o640)
    assert roicodec_cli("decode", "p.roi", "--level", "0", "-o", "link.png", cwd=work).returncode == 0
    assert (work / "link.png").is_symlink() and (work / "target.png").read_bytes() != first
    assert stat.S_IMODE(os.stat(work / "target.png").st_mode) == 0o640  # the replaced file keeps its mode


def test_a_link_to_standard_output_writes_there(work: Path, small_levels: list[np.ndarray]) -> None:
    """`ln -s /proc/self/fd/1 s.png; roicodec decode x.roi -o s.png`: the pixels reach stdout, the link stays."""
    os.symlink("/proc/self/fd/1", work / "s.png")
    result = roicodec_cli("decode", "p.roi", "-o", "s.png", cwd=work)
    assert result.returncode == 0, result.stderr
    assert (work / "s.png").is_symlink()
    from io import BytesIO

    assert np.array_equal(np.asarray(Image.open(BytesIO(result.stdout))), small_levels[3])
    assert b"wrote s.png" in result.stderr  # the report stays out of the image


def _read_fifo(path: Path, into: list[bytes]) -> threading.Thread:
    def read() -> None:
        with open(path, "rb") as f:
            into.append(f.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize("command", ["encode", "decode"])
def test_a_fifo_is_written_straight_through_and_stays_a_fifo(work: Path, command: str, small_levels) -> None:
    fifo = work / ("fifo.roi" if command == "encode" else "fifo.png")
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = _read_fifo(fifo, got)
    argv = ("encode", "a.png", "--mask", "m.png", "-o", fifo.name) if command == "encode" else \
        ("decode", "p.roi", "-o", fifo.name)
    result = roicodec_cli(*argv, cwd=work)
    reader.join(60)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    if command == "encode":
        assert got[0] == (work / "p.roi").read_bytes()
    else:
        from io import BytesIO

        assert np.array_equal(np.asarray(Image.open(BytesIO(got[0]))), small_levels[3])


def test_api_writes_a_fifo_straight_through(work: Path, small, small_file) -> None:
    fifo = work / "api.roi"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = _read_fifo(fifo, got)
    assert roicodec.encode(*small, fifo) is None
    reader.join(60)
    assert got[0] == small_file and stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_dash_is_standard_output(work: Path, small_levels) -> None:
    encoded = roicodec_cli("encode", "a.png", "--mask", "m.png", "-o", "-", cwd=work)
    assert encoded.returncode == 0 and encoded.stdout == (work / "p.roi").read_bytes()
    assert b"wrote -" in encoded.stderr
    decoded = roicodec_cli("decode", "p.roi", "--level", "1", "-o", "-", cwd=work)
    from io import BytesIO

    assert np.array_equal(np.asarray(Image.open(BytesIO(decoded.stdout))), small_levels[1])
    as_npy = roicodec_cli("decode", "p.roi", "-o", "-", "--format", "npy", cwd=work)
    assert np.array_equal(np.load(BytesIO(as_npy.stdout)), small_levels[3])
    assert sorted(p.name for p in work.iterdir()) == ["a.png", "m.png", "p.roi"]


def test_streams_and_sockets(tmp_path: Path) -> None:
    import socket

    os.mkfifo(tmp_path / "f")
    assert atomic.streams(tmp_path / "f") and not atomic.streams(tmp_path / "missing")
    (tmp_path / "r").write_bytes(b"x")
    assert not atomic.streams(tmp_path / "r")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "s"))
        with pytest.raises(roicodec.OutputError, match="socket"):
            atomic.write_bytes(tmp_path / "s", b"data")
        assert stat.S_ISSOCK(os.lstat(tmp_path / "s").st_mode)

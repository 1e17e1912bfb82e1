"""Issue 14, bullets 3 and 4: stacks on the command line, and messages that tell the truth (levels, damage, Ctrl-C,
broken pipes, --version). Each runs the CLI in a subprocess, as a user does."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import roicodec

tifffile = pytest.importorskip("tifffile")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "roicodec.cli", *args], cwd=cwd, capture_output=True, timeout=300)


def _one_line(result: subprocess.CompletedProcess, *words: str) -> str:
    err = result.stderr.decode()
    assert result.returncode == 1 and err.startswith("roicodec: error:") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err
    return err


@pytest.fixture(scope="module")
def stack(astronaut: np.ndarray, tmp_path_factory) -> tuple[Path, np.ndarray]:
    folder = tmp_path_factory.mktemp("stack")
    gray = np.asarray(Image.fromarray(astronaut).convert("L"))
    planes = np.stack([gray[i * 30:i * 30 + 64, i * 20:i * 20 + 80] for i in range(5)])
    (folder / "s.roi").write_bytes(roicodec.encode(planes, qualities=(90,), axes="ZYX"))
    return folder, planes


def test_a_stack_decodes_whole_to_tiff_or_npy_or_by_plane(stack) -> None:
    folder, planes = stack
    with roicodec.open(folder / "s.roi") as f:
        top = f.decode()
    before = (folder / "s.roi").read_bytes()
    _one_line(cli("decode", "s.roi", "-o", "s.png", cwd=folder), "5 planes", "Z=5", "--plane")
    assert not (folder / "s.png").exists()
    assert cli("decode", "s.roi", "-o", "s.tif", cwd=folder).returncode == 0
    assert np.array_equal(tifffile.imread(folder / "s.tif"), top)
    assert cli("decode", "s.roi", "-o", "s.npy", cwd=folder).returncode == 0
    assert np.array_equal(np.load(folder / "s.npy"), top)
    assert cli("decode", "s.roi", "--plane", "3", "-o", "p3.png", cwd=folder).returncode == 0
    assert np.array_equal(np.asarray(Image.open(folder / "p3.png")), top[3])
    _one_line(cli("decode", "s.roi", "--plane", "7", "-o", "p7.png", cwd=folder), "plane 7")
    assert (folder / "s.roi").read_bytes() == before


def test_info_names_the_planes_and_counts_every_plane_in_bpp(stack) -> None:
    folder, planes = stack
    size = (folder / "s.roi").stat().st_size
    info = json.loads(cli("info", "s.roi", "--json", cwd=folder).stdout)
    assert info["planes"] == [5] and info["plane_count"] == 5 and info["axes"] == "ZYX"
    assert info["levels"][-1]["bpp"] == pytest.approx(size * 8 / (5 * 64 * 80))
    text = cli("info", "s.roi", cwd=folder).stdout.decode()
    assert "a stack of 5 planes (Z=5)" in text
    with roicodec.open(folder / "s.roi") as f:
        assert f.level_info[-1].bpp == pytest.approx(size * 8 / (5 * 64 * 80))


def test_a_level_beyond_the_file_says_how_many_it_has(tmp_path: Path, small_file: bytes) -> None:
    (tmp_path / "p.roi").write_bytes(small_file)
    err = _one_line(cli("decode", "p.roi", "--level", "4", "-o", "x.png", cwd=tmp_path), "levels 0 (the base) to 3")
    assert "truncated" not in err
    (tmp_path / "t.roi").write_bytes(small_file[:-100])  # the last layer cut short
    _one_line(cli("decode", "t.roi", "--level", "3", "-o", "x.png", cwd=tmp_path), "truncated", "0 (the base) to 2")
    assert not (tmp_path / "x.png").exists()


def test_a_damaged_level_is_marked_and_decode_names_the_intact_ones(tmp_path: Path, small_file: bytes) -> None:
    data = bytearray(small_file)
    with roicodec.open(small_file) as f:
        last = [c for c in f.layout.chunks if c.type == b"LAYR"][-1]
    data[last.offset + 3] ^= 0x40
    (tmp_path / "d.roi").write_bytes(data)
    info = json.loads(cli("info", "d.roi", "--json", cwd=tmp_path).stdout)
    assert [level["intact"] for level in info["levels"]] == [True, True, True, False]
    assert info["levels_intact"] == 3
    text = cli("info", "d.roi", cwd=tmp_path).stdout.decode()
    assert "damaged" in text.splitlines()[-1] and "ok" in text.splitlines()[-2]
    _one_line(cli("decode", "d.roi", "-o", "x.png", cwd=tmp_path), "CRC-32", "use --level 2")
    assert not (tmp_path / "x.png").exists()
    assert cli("decode", "d.roi", "--level", "2", "-o", "x.png", cwd=tmp_path).returncode == 0


def test_broken_pipe_exits_quietly(tmp_path: Path, small_file: bytes) -> None:
    (tmp_path / "p.roi").write_bytes(small_file)
    run = subprocess.run(f"{sys.executable} -m roicodec.cli info --json p.roi | head -n 1", shell=True, cwd=tmp_path,
                         capture_output=True, timeout=300)
    assert run.stdout == b"{\n" and run.stderr == b""


def test_ctrl_c_prints_one_line_exits_130_and_leaves_nothing(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    np.save(tmp_path / "big.npy", rng.integers(0, 256, (2048, 2048, 3), dtype=np.uint8))
    # A shell starts a foreground command with SIGINT at its default; a job started in the background (as CI may run
    # the tests) inherits it ignored, and Python then never raises KeyboardInterrupt. Give the child a terminal's.
    child = subprocess.Popen([sys.executable, "-m", "roicodec.cli", "encode", "big.npy", "--tile", "256", "-o",
                              "big.roi"], cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.PIPE,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # Interrupt once the output is being written (its temporary file exists), as a user pressing Ctrl-C would.
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".big.roi.*.tmp")) and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    assert child.poll() is None, "the encoder ended before it could be interrupted"
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 130 and err == b"roicodec: interrupted\n", err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.npy"]


def test_version(tmp_path: Path) -> None:
    run = cli("--version", cwd=tmp_path)
    assert run.returncode == 0 and run.stdout.decode().strip() == f"roicodec {roicodec.__version__}"
    assert roicodec.__version__ != "0+unknown"


def test_hints_speak_to_command_line_users(tmp_path: Path) -> None:
    Image.new("LA", (8, 8)).save(tmp_path / "la.png")
    err = _one_line(cli("encode", "la.png", cwd=tmp_path), "mode L")
    assert "RGB" not in err


def test_ctrl_c_while_a_native_module_initialises_is_still_an_interrupt(tmp_path: Path, monkeypatch, capsys) -> None:
    # A SIGINT during `import onnxruntime` reaches Python as ImportError("initialization failed") caused by the
    # KeyboardInterrupt; the user pressed Ctrl-C, so the answer is the interrupt's, not a traceback.
    import roicodec.cli as cli_module

    def interrupted_import(*_args, **_kwargs):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise ImportError("initialization failed") from exc

    monkeypatch.setattr(cli_module.codec, "encode", interrupted_import)
    np.save(tmp_path / "a.npy", np.zeros((16, 16), np.uint8))
    assert cli_module.main(["encode", str(tmp_path / "a.npy"), "-o", str(tmp_path / "a.roi")]) == 130
    assert capsys.readouterr().err == "roicodec: interrupted\n"
    monkeypatch.setattr(cli_module.codec, "encode", lambda *a, **k: (_ for _ in ()).throw(ImportError("no x")))
    with pytest.raises(ImportError, match="no x"):  # a real import failure is not hidden
        cli_module.main(["encode", str(tmp_path / "a.npy"), "-o", str(tmp_path / "a.roi")])

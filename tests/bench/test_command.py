"""End to end on one small image at two sizes: one command writes rows for every codec and level, figures, page."""

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from roicodec.bench import codecs, main

from conftest import sample_path


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    images = root / "images"
    images.mkdir()
    astronaut = np.asarray(Image.open(sample_path("astronaut.png")).convert("RGB"))
    Image.fromarray(astronaut[20:116, 150:278]).save(images / "face.png")
    out = root / "docs" / "results"
    status = main(["--data", str(images), "--out", str(out), "--sizes", "full,64x96", "--speed-images", "1",
                   "--repeats", "1"])
    return status, out, root / "docs" / "results.md"


def test_command_succeeds_and_writes_everything(bench) -> None:
    status, out, page = bench
    assert status == 0
    for name in ("rows.jsonl", "speed.json", "meta.json", "summary.json", "ratios.png", "rd_full.png",
                 "rd_64x96.png"):
        assert (out / name).is_file(), name
    text = page.read_text()
    assert "results/rd_full.png" in text and "results/ratios.png" in text
    assert "nan" not in text.lower().replace("nanmean", "")


def test_rows_cover_every_codec_level_and_setting(bench) -> None:
    _, out, _ = bench
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    expected = set()
    for codec in codecs.default_codecs():
        if codec.name == "roicodec":
            expected |= {(codec.name, None, k) for k in range(4)}
        elif codec.name == "scalable-jpeg":
            expected |= {(codec.name, q, k) for q in codec.jobs for k in range(4)}
        elif codec.name == "jpeg2000":
            expected |= {(codec.name, t, None) for t in codec.targets_bpp}
        else:
            expected |= {(codec.name, q, None) for q in codec.jobs}
    for size in ("full", "64x96"):
        seen = {(r["codec"], r["setting"], r["level"]) for r in rows if r["size"] == size}
        assert seen == expected, (size, expected ^ seen)
        assert len([r for r in rows if r["size"] == size]) == len(expected)
    for r in rows:
        assert r["bytes"] > 0 and r["bpp"] == r["bytes"] * 8 / (r["width"] * r["height"])
        assert 0 < r["ssim"] <= 1 and 0 < r["roi_ssim"] <= 1


def test_speed_rows_name_the_peers(bench) -> None:
    _, out, _ = bench
    speed = json.loads((out / "speed.json").read_text())
    assert {"roicodec", "jpeg", "jpeg2000"} <= {r["codec"] for r in speed}
    assert all(r["encode_mp_s"] > 0 and r["decode_mp_s"] > 0 for r in speed)


def test_report_only_remakes_the_page(bench) -> None:
    status, out, page = bench
    page.unlink()
    assert main(["--out", str(out), "--report-only"]) == 0
    assert page.is_file()


def test_bad_input_is_one_line_and_status_1(tmp_path, capsys) -> None:
    assert main(["--data", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no images" in err[0]


def test_the_entry_point_loads_no_heavy_module() -> None:
    code = ("import sys, roicodec.bench, roicodec.bench.command\n"
            "print([m for m in ('torch', 'matplotlib', 'skimage', 'bjontegaard') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

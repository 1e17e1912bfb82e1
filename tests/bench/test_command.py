"""End to end on one small image at two sizes: one command writes rows for every codec and level, figures, page.

The image is 176x192, just over the 161 pixels a side that MS-SSIM's five scales need; the 64x96 crop is under it,
so its rows carry no MS-SSIM and its base-layer tables must say n/a rather than fail.
"""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import roicodec
from roicodec.bench import codecs, main
from roicodec.models import registry


@pytest.fixture(scope="module")
def bench(tmp_path_factory, astronaut):
    root = tmp_path_factory.mktemp("bench")
    images = root / "images"
    images.mkdir()
    Image.fromarray(astronaut[0:176, 130:322]).save(images / "face.png")
    out = root / "docs" / "results"
    status = main(["--data", str(images), "--out", str(out), "--sizes", "full,64x96", "--speed-images", "1",
                   "--repeats", "1"])
    return status, out, root / "docs" / "results.md"


def test_command_succeeds_and_writes_everything(bench) -> None:
    status, out, page = bench
    assert status == 0
    for name in ("rows.jsonl", "speed.json", "meta.json", "summary.json", "ratios.png", "rd_full.png",
                 "rd_64x96.png", "base_full.png", "base_64x96.png"):
        assert (out / name).is_file(), name
    text = page.read_text()
    assert "results/rd_full.png" in text and "results/ratios.png" in text
    assert not re.search(r"\bnan\b", text, re.IGNORECASE)  # a NaN printed as a number ("luminance" is fine)
    assert not re.search(r"\bissues?\b", text, re.IGNORECASE)  # a page states its targets as the project's own


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
        elif codec.name == "base":
            expected |= {(codec.name, m, 0) for m in registry.available()}
        else:
            expected |= {(codec.name, q, None) for q in codec.jobs}
    for size in ("full", "64x96"):
        seen = {(r["codec"], r["setting"], r["level"]) for r in rows if r["size"] == size}
        assert seen == expected, (size, expected ^ seen)
        assert len([r for r in rows if r["size"] == size]) == len(expected)
    for r in rows:
        assert r["bytes"] > 0 and r["bpp"] == r["bytes"] * 8 / (r["width"] * r["height"])
        assert 0 < r["ssim"] <= 1 and 0 < r["roi_ssim"] <= 1
        if r["size"] == "full":
            assert 0 < r["ms_ssim"] <= 1, r
        else:
            assert r["ms_ssim"] is None  # 64x96 is too small for five scales


def test_base_rows_count_every_byte_of_the_base_only_file(bench) -> None:
    _, out, _ = bench
    rows = [json.loads(line) for line in (out / "rows.jsonl").read_text().splitlines()]
    image = np.asarray(Image.open(out.parents[1] / "images" / "face.png"))
    base = {r["setting"]: r for r in rows if r["codec"] == "base" and r["size"] == "full"}
    assert list(base) == list(registry.available())
    for model, r in base.items():
        assert r["bytes"] == len(roicodec.encode(image, qualities=(), model=model))


def _section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start:] if end < 0 else text[start:end]


def test_page_has_the_base_layer_section(bench) -> None:
    _, out, page = bench
    text = page.read_text()
    section = _section(text, "\n## Base layer\n")
    assert "measured in this same run" in section and "-10 log10(1 - MS-SSIM)" in section
    assert "results/base_full.png" in section and "results/base_64x96.png" in section
    full = _section(section, "### Full size")
    summary = json.loads((out / "summary.json").read_text())
    base = summary["full"]["base_layer"]
    families = [e for e in base["entries"] if e["kind"] == "family"]
    lone = [e for e in base["entries"] if e["kind"] == "model"]
    assert {e["name"] for e in base["entries"] if e["kind"] == "peer"} == {"jpeg2000", "avif", "webp"}
    for e in families:  # one BD-rate row per family, named with its members
        assert f"| `{e['name']}` family (" in full
    for e in lone:
        assert f"| `{e['name']}` | 1 | " in full
    for m in registry.available():  # every installed model has its row of means, with its hash
        row = next(line for line in full.splitlines() if line.startswith(f"| `{m}` | `"))
        assert registry.info(m).hash.hex() in row
        means = next(x for x in base["models"] if x["model"] == m)
        assert f"| {means['bpp']:.3f} | {means['psnr']:.2f} | {means['ms_ssim']:.4f} |" in row
    for peer in ("JPEG 2000", "AVIF", "WebP"):
        assert f"| {peer} | " in full
    # The lone paper-ae point is JPEG's rate at its PSNR, or says why there is none.
    paper = next(line for line in full.splitlines() if line.startswith("| `paper-ae` | 1 |"))
    assert "at one point (JPEG" in paper or "outside JPEG's range" in paper
    crop = _section(section, "### 64x96 centre crops")
    assert "| n/a | n/a |" in crop  # MS-SSIM and its dB: none on a crop under 161 pixels


def test_speed_rows_name_the_peers(bench) -> None:
    _, out, page = bench
    speed = json.loads((out / "speed.json").read_text())
    assert {"roicodec", "jpeg", "jpeg2000", "avif"} <= {r["codec"] for r in speed}
    assert all(r["encode_mp_s"] > 0 and r["decode_mp_s"] > 0 for r in speed)
    assert sorted(r["setting"] for r in speed if r["codec"] == "jpeg2000") == [0.4, 6.0]
    assert [r["setting"] for r in speed if r["codec"] == "base"] == list(registry.available())
    table = _section(page.read_text(), "### Base layer against JPEG 2000 and AVIF")
    assert "weights loaded once before timing" in table and "Decode target in this run:" in table
    j2k = {r["setting"]: r for r in speed if r["codec"] == "jpeg2000"}
    for r in speed:
        if r["codec"] == "base":
            line = next(x for x in table.splitlines() if x.startswith(f"| `{r['setting']}` base layer |"))
            ratio = r["decode_s"] / j2k[6.0]["decode_s"]
            assert f"| {r['decode_s'] / r['images']:.3f} | " + (f"{ratio:.1f}x" if ratio < 10 else f"{ratio:.0f}x") \
                in line


def test_unknown_base_model_is_one_line_and_status_1(tmp_path, capsys) -> None:
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "a.png")
    assert main(["--data", str(tmp_path), "--out", str(tmp_path / "out"), "--base-models", "paper-ae,nope"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope" in err[0] and "paper-ae" in err[0]


def test_report_only_remakes_the_page(bench) -> None:
    """From the committed outputs alone, the same page the run wrote, and no new measurement."""
    _status, out, page = bench
    text, rows = page.read_text(), (out / "rows.jsonl").read_bytes()
    page.unlink()
    assert main(["--out", str(out), "--report-only"]) == 0
    assert page.read_text() == text and (out / "rows.jsonl").read_bytes() == rows


def test_bad_input_is_one_line_and_status_1(tmp_path, capsys) -> None:
    assert main(["--data", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no images" in err[0]


def test_the_entry_point_loads_no_heavy_module() -> None:
    code = ("import sys, roicodec.bench, roicodec.bench.command\n"
            "print([m for m in ('torch', 'matplotlib', 'skimage', 'bjontegaard') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

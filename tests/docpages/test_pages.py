"""The measured figures on the docs pages are the ones their committed JSON gives (benchmarks/pages.py).

The renderer is checked on made-up inputs with known answers (the ratio a reader recomputes from the page's own
times, the signs of a saving and a cost), and the real pages against the real JSON, byte for byte.
"""

from __future__ import annotations

import json

import pytest
from benchmarks import pages

META = {"command": "python benchmarks/x.py --out docs/results/x.json", "date": "2026-01-02", "wall_s": 75.0,
        "cpus": 2, "load_average_start": 0.04}


def test_every_page_is_what_its_json_gives():
    for page in sorted({block.page for block in pages.BLOCKS.values()}):
        text = (pages.DOCS / page).read_text()
        assert pages.render_page(text, page, pages._load) == text, f"{page}: run python benchmarks/pages.py"


def test_every_block_reads_committed_json_with_its_command():
    for block in pages.BLOCKS.values():
        result = json.loads((pages.RESULTS / block.source).read_text())
        if block.source.startswith("segmenters/"):  # made by training.segmenter, which keeps no meta: a command
            assert result["command"].startswith("python -m training."), block.source
            continue
        assert result["meta"]["command"].startswith("python benchmarks/")
        assert f"--out docs/results/{block.source}" in result["meta"]["command"]
        # Measured on committed code, so that the commit the page names is the code the figures belong to.
        assert result["meta"]["code"]["commit"], block.source
        assert result["meta"]["code"]["modified"] is False, block.source


def _one(render, result, meta=META) -> str:
    return "\n".join(render(dict(result, meta=meta)))


def test_thumbnail_speed_up_is_the_ratio_of_the_times_shown():
    # The page once said 27.8x beside 8.47 s and 0.31 s, which give 27.3x.
    result = {"image": "an image", "model": {"name": "rd-q1"}, "runs": 3, "load_s": {"median": 8.47},
              "thumbnail_s": {"median": 0.31}, "enhancement_layers_decoded_load": 3.0,
              "enhancement_layers_decoded_thumbnail": 0.0, "target_speedup": 5}
    text = _one(pages.thumbnail_speed, result)
    assert "| `Image.open(path).load()` | 8.470 s | 3 |" in text
    assert "| `Image.open(path).thumbnail((128, 128))` | 0.310 s | 0 |" in text
    assert "| speed-up | 27.3x |  |" in text
    assert "at least 5x faster than a full load: met." in text
    assert "in 75 s of wall time on 2 CPU cores (load average 0.0 at the start)" in text
    assert "(roicodec at an unknown commit; an image, base model `rd-q1`;" in text
    dirty = _one(pages.thumbnail_speed, result, dict(META, code={"commit": "0123456789abcdef", "modified": True}))
    assert "(roicodec at commit `0123456789` with uncommitted changes; an image," in dirty
    assert _one(pages.thumbnail_speed, dict(result, thumbnail_s={"median": 2.0})).endswith("full load: not met.")


def _plane(mp, io, trim, anon, cpu):
    return {"megapixels": mp, "side": 1000, "io": io, "trim": trim, "encode_s": 2.0 * mp, "decode_s": mp,
            "encode_cpu_s": cpu, "decode_cpu_s": 0.0, "codec_anon_mib": anon, "rss_share_mib": anon,
            "mapped_file_before_mib": 131, "mapped_file_peak_mib": 136, "file_bytes": 3_000_000,
            "base_level_bytes": 1_000_000}


def test_scaling_tables_read_their_rows():
    planes = [_plane(16, "mmap", True, 200, 11.5), _plane(64, "mmap", True, 210, 46.0),
              _plane(16, "pread", True, 190, 11.0), _plane(64, "pread", True, 230, 46.0),
              _plane(64, "mmap", False, 410, 40.0)]
    result = {"model": {"name": "rd-q1"}, "ladder": ["avif:50", "exact"], "planes": planes, "batch_data": "kodak",
              "batch": [{"workers": 2, "images": 24, "seconds": 5.0, "images_per_s": 4.8, "megapixels_per_s": 1.887,
                         "failed": 0},
                        {"workers": 1, "images": 24, "seconds": 274.2, "images_per_s": 0.09, "megapixels_per_s": 0.03,
                         "failed": 0}]}
    text = _one(pages.scaling_planes, result)
    assert "base model `rd-q1`, ladder `avif:50,exact`), in 75 s" in text
    assert "| 64 | 1000 | 128.0 | 64.0 | 210 | 210 | 5 | 3.00 | 2.00 |" in text
    assert "Per megapixel (`mmap`, from 16 to 64 megapixels): 2.00 s to encode, 1.00 s to decode." in text
    assert "From 16 to 64 megapixels the codec's own memory changed by +10 MiB with `mmap` and +40 MiB with `pread`."\
        in text
    assert pages._span([0.98, 1.284, 1.2]) == "0.98 to 1.28"
    # Without the trim the process held 200 MiB more and spent 6 s less: the trim saves +200 and costs +15 %.
    assert "| 64 | 210 | 410 | +200 | 46.0 | 40.0 | +15 % |" in _one(pages.scaling_trim, result)
    batch = _one(pages.scaling_batch, result)
    # Images per second from the time (24 / 274.2), not from the rate the JSON rounded to 0.09.
    assert batch.index("| 1 | 24 | 274.2 | 0.0875 | 0.03 | 0 |") < batch.index("| 2 | 24 | 5.0 | 4.8 | 1.89 | 0 |")
    assert batch.endswith("2 workers gave 54.84x the throughput of 1.")


def test_fuzz_table_rates_and_crashes():
    target = {"target": "container parser", "options": ["-atheris_runs=1000", "-timeout=10"], "executions": 1000,
              "seconds": 4, "coverage": 197, "features": 584, "corpus": 44, "artifacts": []}
    result = {"atheris": "3.0.0", "targets": [target, dict(target, target="Pillow plugin", seconds=0,
                                                          artifacts=["crash-ab"])]}
    text = _one(pages.fuzz, result)
    assert "| container parser | `-atheris_runs=1000 -timeout=10` | 1,000 | 4 | 250 | 197 / 584 | 44 | none |" in text
    assert "| Pillow plugin | `-atheris_runs=1000 -timeout=10` | 1,000 | 0 | — | 197 / 584 | 44 | crash-ab |" in text


def test_render_page_remakes_blocks_and_nothing_else():
    blocks = {"a": pages.Block("p.md", "a.json", lambda r: [f"value {r['v']}"])}
    text = "before\n<!-- begin a: stale note -->\nold value\n<!-- end a -->\nafter\n"
    out = pages.render_page(text, "p.md", lambda source: {"v": 7}, blocks)
    assert out == "before\n<!-- begin a: made by benchmarks/pages.py from results/a.json -->\nvalue 7\n" \
                  "<!-- end a -->\nafter\n"
    assert pages.render_page(out, "p.md", lambda source: {"v": 7}, blocks) == out


def test_render_page_refuses_missing_and_unknown_markers():
    blocks = {"a": pages.Block("p.md", "a.json", lambda r: ["x"])}
    with pytest.raises(ValueError, match="no markers for a"):
        pages.render_page("no block here\n", "p.md", lambda source: {}, blocks)
    with pytest.raises(ValueError, match="no block of that name here: b"):
        pages.render_page("<!-- begin a -->\n<!-- end a -->\n<!-- begin b -->\n<!-- end b -->\n", "p.md",
                          lambda source: {}, blocks)


def test_write_remakes_the_pages_that_read_that_file(tmp_path, monkeypatch):
    (tmp_path / "results").mkdir()
    (tmp_path / "p.md").write_text("<!-- begin a -->\n<!-- end a -->\n<!-- begin c -->\nkept\n<!-- end c -->\n")
    (tmp_path / "q.md").write_text("<!-- begin b -->\nkept\n<!-- end b -->\n")
    monkeypatch.setattr(pages, "DOCS", tmp_path)
    monkeypatch.setattr(pages, "RESULTS", tmp_path / "results")
    # b.json and c.json do not exist: a run remakes the blocks of its own file and reads no other.
    monkeypatch.setattr(pages, "BLOCKS", {"a": pages.Block("p.md", "a.json", lambda r: [f"v={r['v']}"]),
                                          "b": pages.Block("q.md", "b.json", lambda r: ["never"]),
                                          "c": pages.Block("p.md", "c.json", lambda r: ["never"])})
    pages.write(tmp_path / "results" / "a.json", {"v": 3})
    assert json.loads((tmp_path / "results" / "a.json").read_text()) == {"v": 3}
    assert (tmp_path / "p.md").read_text() == ("<!-- begin a: made by benchmarks/pages.py from results/a.json -->\n"
                                              "v=3\n<!-- end a -->\n<!-- begin c -->\nkept\n<!-- end c -->\n")
    assert (tmp_path / "q.md").read_text() == "<!-- begin b -->\nkept\n<!-- end b -->\n"
    pages.write(tmp_path / "elsewhere.json", {"v": 4})  # outside docs/results: no page reads it
    assert "\nv=3\n" in (tmp_path / "p.md").read_text()


def test_read_speed_shows_both_readers_and_its_targets():
    def timing(median):
        return {"median": median, "megapixels_per_s": round(1.1 / median, 2)}

    fresh = {"torch": {"wall_s": {"median": 1.7}, "peak_mb": {"median": 655.0}, "torch_imported": True},
             "onnx": {"wall_s": {"median": 0.45}, "peak_mb": {"median": 190.0}, "torch_imported": False},
             "plain": {"wall_s": {"median": 0.41}, "peak_mb": {"median": 185.0}, "torch_imported": False},
             "plain_default": {"wall_s": {"median": 0.48}, "peak_mb": {"median": 195.0}, "torch_imported": False}}
    warm = {"torch": {"top": timing(0.8), "base": timing(0.6)},
            "onnx": {"top": timing(0.4), "base": timing(0.3), "jpeg2000": timing(0.11), "avif": timing(0.011)}}
    result = {"files": [{"size": "1280x864", "megapixels": 1.11, "bpp": 0.5, "layers": ["avif:50", "exact"],
                         "model": {"name": "rd-q1"}, "default_model": {"name": "hp-q1"}}],
              "runs": 5, "fresh": {"1280x864": fresh}, "throughput": {"1280x864": warm},
              "plain_install": {"python": "made by this run", "torch_importable": False},
              "targets": {"file": "1280x864", "path": "plain_default", "wall_s": 0.5, "peak_mb": 200,
                          "met_fresh": True, "met_throughput": True},
              "torch_path": {"commit": "0123456789abcdef"}}
    text = _one(pages.read_speed, result)
    assert "| 1280x864 (1.11 MP, 0.5 bpp) | torch (before), source, `rd-q1` | 1.70 s | 655 MB | yes |" in text
    assert "| 1280x864 (1.11 MP, 0.5 bpp) | ONNX Runtime, source, `rd-q1` | 0.45 s | 190 MB | no |" in text
    assert "| 1280x864 (1.11 MP, 0.5 bpp) | ONNX Runtime, plain install, `rd-q1` | 0.41 s | 185 MB | no |" in text
    assert ("| 1280x864 (1.11 MP, 0.5 bpp) | ONNX Runtime, plain install, `hp-q1` (the default) | 0.48 s | 195 MB | "
            "no |") in text
    assert "(torch importable there: no)" in text
    # The speed-up is the ratio of the medians: 0.8 s against 0.4 s.
    assert "| 1280x864 | top level | 1.38 | 2.75 | 2.00x | 10.0 | 100.0 |" in text
    # The target is judged on the default model's file in the plain install.
    assert "of the default model in the plain install: at most 0.5 s and 200 MB without torch (0.48 s, 195 MB): met; " \
           "throughput no worse than the torch path's: met." in text
    assert "torch path: the reader at commit `0123456789`" in text

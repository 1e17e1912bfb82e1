"""From rows to the page's numbers, on rows made up so that the answers are known."""

import pytest

from roicodec.bench import analysis

PAPER = {0: 61.4, 1: 3.3, 2: 3.6, 3: 5.4}
LEVEL_BPP = [0.1, 0.4, 1.0, 3.0]
LEVEL_ROI_PSNR = [22.0, 30.0, 37.0, 50.0]


def row(codec, setting, level, bpp, roi_psnr, image="a", psnr=None):
    q = psnr if psnr is not None else roi_psnr - 1
    return {"size": "full", "image": image, "codec": codec, "setting": setting, "level": level, "bpp": bpp,
            "psnr": q, "roi_psnr": roi_psnr, "ssim": q / 100, "roi_ssim": roi_psnr / 100, "roi_fraction": 0.25,
            "encode_s": 0.1, "decode_s": 0.01}


def made_up_rows():
    rows = []
    for image, shift in (("a", -0.5), ("b", 0.5)):  # two images whose means are the curves above
        for k, (b, p) in enumerate(zip(LEVEL_BPP, LEVEL_ROI_PSNR)):
            rows.append(row("roicodec", None, k, b, p + shift, image))
            # Scalable JPEG: base q10 costs 2x at the base PSNR; q50 costs 5x at higher PSNR; layers cost the same.
            rows.append(row("scalable-jpeg", 10, k, b * 2, p + shift + 0.2, image))
            rows.append(row("scalable-jpeg", 50, k, b * 5, p + shift + 6, image))
        for j, (b, p) in enumerate(zip([0.05, 0.2, 0.8, 3.2, 12.8], [20.0, 26.0, 32.0, 40.0, 52.0])):
            rows.append(row("jpeg2000", b, None, b, p + shift, image))
            rows.append(row("jpeg", j, None, 2 * b, p + shift, image))
    return rows


@pytest.fixture(scope="module")
def summary():
    return analysis.summarise(made_up_rows(), PAPER)["full"]


def test_means_average_over_images(summary) -> None:
    ours = analysis.curve(summary["points"], "roicodec")
    assert [p["roi_psnr"] for p in ours] == pytest.approx(LEVEL_ROI_PSNR)
    assert [p["images"] for p in ours] == [2, 2, 2, 2]


def test_match_picks_the_base_quality_nearest_in_psnr(summary) -> None:
    assert summary["match"]["base_quality"] == 10


def test_level_ratios_in_the_papers_form(summary) -> None:
    assert summary["ratios"]["matched"] == pytest.approx([2, 2, 2, 2])
    assert summary["ratios"]["by_base_quality"]["50"] == pytest.approx([5, 5, 5, 5])


def test_paper_base_ratio_out_of_reach_is_said(summary) -> None:
    implied = summary["ratios"]["paper_base_quality"]
    assert implied["quality"] is None and implied["max_ratio"] == pytest.approx(5) and implied["at_quality"] == 50


def test_paper_base_quality_interpolates_in_log_ratio() -> None:
    points = analysis.means(made_up_rows())["full"]
    implied = analysis.paper_base_quality(points, (2 * 5) ** 0.5)  # halfway between 2x and 5x in log
    assert implied["quality"] == pytest.approx(30) and implied["between"] == [10, 50]


def test_bd_rates_against_known_shifts(summary) -> None:
    bd = summary["bd"]
    # Against the matched scalable JPEG (2x the bytes at 0.2 dB more) roicodec saves close to half the rate.
    assert bd["roicodec"]["roi_psnr"]["scalable-jpeg"]["bd_rate"] == pytest.approx(-50, abs=3)
    # JPEG is JPEG 2000 at twice the rate: JPEG 2000 saves exactly half against it.
    assert bd["vs_jpeg"]["psnr"]["jpeg2000"]["bd_rate"] == pytest.approx(-50)
    assert bd["vs_jpeg"]["psnr"]["jpeg2000"]["overlap"] == 1.0


def base_rows():
    """JPEG at twice the rd family's rate for the same PSNR and MS-SSIM; JPEG 2000 at the family's rate; paper-ae
    one point at a quarter of JPEG's rate at one of JPEG's own qualities."""
    def r(codec, setting, level, bpp, quality):
        return {"size": "full", "image": "a", "codec": codec, "setting": setting, "level": level, "bpp": bpp,
                "psnr": quality, "roi_psnr": quality, "ssim": 0.9, "roi_ssim": 0.9, "roi_fraction": 0.25,
                "ms_ssim": 1 - 10 ** (-quality / 20), "encode_s": 0.1, "decode_s": 0.01}  # MS-SSIM dB: psnr / 2

    rows = []
    for q, (b, p) in enumerate(zip([0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2], [20.0, 23.0, 26.0, 29.0, 32.0, 36.0, 40.0])):
        rows.append(r("jpeg", q + 1, None, 2 * b, p))
        rows.append(r("jpeg2000", b, None, b, p))
    for n, (b, p) in enumerate(zip([0.1, 0.2, 0.4, 0.8], [23.0, 26.0, 29.0, 32.0]), 1):
        rows.append(r("base", f"rd-q{n}", 0, b, p))
    rows.append(r("base", "paper-ae", 0, 0.1, 26.0))  # JPEG q3 gives 26 dB at 0.4 bpp
    rows.append(r("base", "mid", 0, 0.2, 27.5))  # halfway from q3 to q4 (29 dB at 0.8 bpp), 3 dB per doubling
    rows.append(r("base", "wide-q1", 0, 0.05, 10.0))  # alone in its family, below JPEG's range
    return rows


def test_families_group_q_numbered_models_in_point_order() -> None:
    groups = analysis.families(["rd-q2", "paper-ae", "rd-q10", "rd-q1", "x-q3"])
    assert groups == {"rd": ["rd-q1", "rd-q2", "rd-q10"], "paper-ae": ["paper-ae"], "x-q3": ["x-q3"]}


def test_base_layer_against_jpeg_with_known_answers() -> None:
    points = analysis.means(base_rows())["full"]
    base = analysis.base_layer(points)
    entries = {e["name"]: e for e in base["entries"]}
    assert [e["kind"] for e in base["entries"]] == ["family", "model", "model", "model", "peer"]
    assert entries["rd"]["members"] == ["rd-q1", "rd-q2", "rd-q3", "rd-q4"]
    for metric in ("psnr", "ms_ssim_db"):  # half JPEG's rate at every quality: -50 % on both
        assert entries["rd"]["bd"][metric]["bd_rate"] == pytest.approx(-50, abs=0.5)  # PCHIP bends near 32 dB
        assert entries["jpeg2000"]["bd"][metric]["bd_rate"] == pytest.approx(-50, abs=1e-6)
    assert set(entries) == {"rd", "paper-ae", "mid", "wide-q1", "jpeg2000"}  # peers without rows are left out
    # Head to head over the family's own range: rd is JPEG 2000's very curve there (the same bpp at each PSNR).
    assert set(entries["rd"]["vs_peers"]) == {"jpeg2000"}
    for metric, top in (("psnr", 32.0), ("ms_ssim_db", 16.0)):
        found = entries["rd"]["vs_peers"]["jpeg2000"][metric]
        # 0 but for the two PCHIP fits, on 4 points and on 7; the range is the family's, not JPEG 2000's (to 40 dB).
        assert found["bd_rate"] == pytest.approx(0, abs=0.5) and found["common_range"][1] == pytest.approx(top)
    lone = entries["paper-ae"]["jpeg_at"]
    for metric in ("psnr", "ms_ssim_db"):
        assert lone[metric]["bpp"] == pytest.approx(0.4) and lone[metric]["between"] == [3, 3]
        assert lone[metric]["rate_change"] == pytest.approx(-75)
    assert entries["wide-q1"]["jpeg_at"] == {"psnr": None, "ms_ssim_db": None}
    models = {m["model"]: m for m in base["models"]}
    assert set(models) == {"rd-q1", "rd-q2", "rd-q3", "rd-q4", "paper-ae", "mid", "wide-q1"}
    assert models["paper-ae"]["ms_ssim_db"] == pytest.approx(13.0)
    assert models["rd-q2"]["jpeg_at"]["psnr"]["rate_change"] == pytest.approx(-50)
    # Between two JPEG points, JPEG's rate is read off the PCHIP curve in log rate: a straight line here.
    for metric in ("psnr", "ms_ssim_db"):
        assert models["mid"]["jpeg_at"][metric]["between"] == [3, 4]
        assert models["mid"]["jpeg_at"][metric]["bpp"] == pytest.approx(0.4 * 2 ** 0.5)


def test_summary_without_base_rows_has_no_base_layer(summary) -> None:
    assert summary["base_layer"] is None

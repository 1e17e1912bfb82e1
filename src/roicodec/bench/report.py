"""The results page (Markdown) from the run's JSON: the paper's table reproduced, BD-rates, anchors, the base layers
against JPEG and the peers, speed, and what agrees with the paper and what does not.

Every number on the page comes from ``summary.json``, ``speed.json`` and ``meta.json``; the sentences that judge
agreement are chosen by those numbers, so that a rerun with other weights cannot leave a stale claim behind.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from roicodec.bench.analysis import BASE, BASE_METRICS, FULL_OVERLAP, METRICS, ROI, SCALABLE, WHOLE_IMAGE, curve
from roicodec.bench.plots import LEVEL_NAMES
from roicodec.metrics import MS_SSIM_WEIGHTS

METRIC_NAMES = {"psnr": "PSNR", "roi_psnr": "ROI-PSNR", "ssim": "SSIM", "roi_ssim": "ROI-SSIM",
                "ms_ssim_db": "MS-SSIM (dB)"}
CODEC_NAMES = {"roicodec": "roicodec", "scalable-jpeg": "scalable JPEG", "jpeg2000": "JPEG 2000", "jpeg": "JPEG",
               "webp": "WebP", "avif": "AVIF", "base": "base layers alone"}
BASE_DECODE_TARGET = 5.0
"""Issue 7's target: the base layer decodes in at most this many times JPEG 2000's decode time."""
AGREE = 0.25
"""Relative distance in ratio under which a reproduced number is said to agree with the paper's."""
SHOWN_COVERAGE = 0.5
"""Below this share of the narrower curve's quality span in common, a BD-rate speaks for too little of either curve:
the page shows none. (BD-rate integrates over the common range only, so it never extrapolates.)"""


def _pct(entry: dict[str, Any]) -> str:
    if entry["bd_rate"] is None:
        return "n/a (no common range)" if entry["overlap"] == 0 else "n/a"
    # Rows of an older run have no coverage: their union-based overlap is the stricter test.
    if entry.get("coverage", entry["overlap"]) < SHOWN_COVERAGE:
        return f"n/a ({100 * entry['overlap']:.0f} % overlap)"
    if entry["overlap"] >= FULL_OVERLAP:
        return f"{entry['bd_rate']:+.1f} %"
    common = entry.get("common_range")
    if common is None:
        where = f"{100 * entry['overlap']:.0f} % overlap"
    elif common[1] <= 1:  # SSIM-like scores have no unit
        where = f"over {common[0]:.3f}-{common[1]:.3f}"
    else:
        where = f"over {common[0]:.1f}-{common[1]:.1f} dB"
    return f"{entry['bd_rate']:+.1f} % ({where})"


def _size_title(size: str) -> str:
    return "full size" if size == "full" else f"{size} centre crops"


def _header(meta: dict[str, Any]) -> list[str]:
    v, t = meta["versions"], meta["times"]
    args = " ".join(meta["args"])
    return [
        "# Results: roicodec against the paper's scalable JPEG and the codecs a user would pick instead",
        "",
        (f"Made by `roicodec bench {args}` (the same as `python -m roicodec.bench {args}`) on {meta['date']}, in "
        f"**{t['total_s'] / 60:.1f} minutes** of wall time on this machine ({meta['machine']}): sweep "
        f"{t['sweep_s'] / 60:.1f} min, speed {t['speed_s'] / 60:.1f} min, tables and figures {t['report_s']:.0f} s. "
        "That command writes every table and figure on this page from scratch."),
        "",
        (f"roicodec {v['roicodec']} (base model `{meta['model']['name']}`, hash `{meta['model']['hash']}`), "
        f"Pillow {v['pillow']} (libjpeg-turbo {v['libjpeg_turbo']}, OpenJPEG {v['openjpeg']}, libwebp {v['libwebp']}, "
        f"libavif {v['libavif']}), scikit-image {v['scikit-image']}, bjontegaard {v['bjontegaard']}, numpy "
        f"{v['numpy']}, torch {v['torch']} ({meta['torch_threads']} threads), Python {v['python']}."),
        "",
        (f"Data: {meta['images']} images from `{meta['data']}`. Raw rows, one per image x size x codec x operating "
        f"point: [`{meta['out_name']}/rows.jsonl`]({meta['out_name']}/rows.jsonl); the summary the tables read: "
        f"[`summary.json`]({meta['out_name']}/summary.json); speed: [`speed.json`]({meta['out_name']}/speed.json); "
        f"the run's settings and versions: [`meta.json`]({meta['out_name']}/meta.json)."),
        "",
    ]


def _method(meta: dict[str, Any]) -> list[str]:
    lines = [
        "## How it is measured",
        "",
        ("- **bpp**: every byte a reader of that operating point needs x 8 / (width x height). For roicodec and the "
        "scalable JPEG that is the `.roi` file's prefix up to the level (signature, header, base, mask, layers); for "
        "JPEG 2000 the codestream holding layers 1..k; for the others the whole file."),
        ("- **PSNR** on 8-bit RGB, peak 255, per image; **ROI-PSNR** over the ROI's pixels only. **SSIM**: "
        "scikit-image, Gaussian window sigma 1.5, data range 255, population covariances, per channel and averaged; "
        "**ROI-SSIM** averages the same per-pixel SSIM map over the ROI (the 5-pixel border that scikit-image's "
        "mean leaves out is left out of both). **MS-SSIM** (whole image; Wang, Simoncelli and Bovik 2003): 5 scales "
        f"weighted {', '.join(map(str, MS_SSIM_WEIGHTS))}, the same SSIM at each scale with the window wholly inside "
        "the image, contrast-structure at scales 1-4 and luminance x contrast-structure at scale 5, 2x2 average "
        "pooling between scales, per channel and averaged (pytorch_msssim's algorithm, which CompressAI reports "
        "with); none on images under 161 pixels a side. Each is averaged over the images per operating point, as is "
        "bpp; MS-SSIM in dB is -10 log10(1 - mean MS-SSIM)."),
        ("- **BD-rate**: the `bjontegaard` package, PCHIP, on the mean curves, over the quality range both curves "
        "cover. Negative: the test codec needs fewer bits for the same quality. A point that does not raise quality "
        "over a cheaper one is left out (PCHIP needs rising quality). When the common range is under 75 % of the two "
        "curves' joint range, the cell names it (`over A-B`): the number speaks for that band only. When it is "
        "under half of the narrower curve's own range, the page gives none (`n/a (x % overlap)`, x of the joint "
        "range; `summary.json` keeps it). `n/a (no common range)`: the curves share no quality."),
        f"- **Sizes**: the full images, and the paper's {meta['crop_note']}",
        f"- **ROI**: {meta['roi_note']}",
        "- **Codecs**:",
    ]
    lines += [f"  - {CODEC_NAMES.get(name, name)}: {text}" for name, text in meta["codecs"].items()]
    lines.append("")
    return lines


def _paper_table(size: str, s: dict[str, Any], paper: dict[int, float]) -> list[str]:
    pts, match = s["points"], s["match"]
    q = match["base_quality"]
    ours, theirs = curve(pts, ROI), curve(pts, SCALABLE, q)
    lines = [
        f"### {_size_title(size).capitalize()}",
        "",
        (f"The JPEG base layer is matched to roicodec's base layer by PSNR: of the swept JPEG base qualities, q{q} "
        f"gives the mean PSNR nearest roicodec's ({match['jpeg_psnr']:.2f} dB against {match['roicodec_psnr']:.2f} "
        "dB). Ratio = scalable JPEG bpp / roicodec bpp (above 1: roicodec needs fewer bits), as the paper gives it."),
        "",
        (f"| level | roicodec bpp | ROI-PSNR (dB) | ROI-SSIM | scalable JPEG q{q} bpp | ROI-PSNR (dB) | ROI-SSIM | "
        "ratio, ours | ratio, paper |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for k, (o, t) in enumerate(zip(ours, theirs)):
        lines.append(f"| {LEVEL_NAMES[k]} | {o['bpp']:.3f} | {o['roi_psnr']:.2f} | {o['roi_ssim']:.3f} | "
                     f"{t['bpp']:.3f} | {t['roi_psnr']:.2f} | {t['roi_ssim']:.3f} | "
                     f"**{t['bpp'] / o['bpp']:.2f}** | {paper[k]} |")
    lines.append("")
    implied, fit = s["ratios"]["paper_base_quality"], s["ratios"]["paper_fit_quality"]
    if implied["quality"] is not None:
        text = (f"The base-layer ratio reaches the paper's {paper[0]}x with a JPEG base of quality about "
                f"{implied['quality']:.0f} (between q{implied['between'][0]} and q{implied['between'][1]}).")
    else:
        text = (f"No JPEG base quality in the sweep reaches the paper's base-layer ratio of {paper[0]}x: the "
                f"largest is {implied['max_ratio']:.1f}x, at q{implied['at_quality']}.")
    fr = fit["ratios"]
    lines += [
        text + f" The swept base quality whose level ratios come nearest the paper's {paper[1]}x, {paper[2]}x and "
        f"{paper[3]}x is q{fit['quality']}: {fr[1]:.2f}x, {fr[2]:.2f}x and {fr[3]:.2f}x (root-mean-square error "
        f"{100 * (math.exp(fit['rms_log_error']) - 1):.0f} % in ratio), with a base-layer ratio of {fr[0]:.2f}x.",
        "",
        "How the ratios depend on the JPEG base quality:",
        "",
        "| JPEG base quality | base PSNR (dB) | base bpp | ratio base | ratio L1 | ratio L2 | ratio L3 |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, r in sorted(s["ratios"]["by_base_quality"].items(), key=lambda kv: int(kv[0])):
        base = curve(pts, SCALABLE, int(key))[0]
        mark = " (matched)" if int(key) == q else ""
        lines.append(f"| {key}{mark} | {base['psnr']:.2f} | {base['bpp']:.3f} | "
                     + " | ".join(f"{x:.2f}" for x in r) + " |")
    lines.append("")
    return lines


def _bd_tables(summary: dict[str, Any], published: dict[str, float], sizes: Sequence[str]) -> list[str]:
    lines = [
        "## BD-rate",
        "",
        ("roicodec's curve is its four operating points (base, L1, L2, L3); the scalable JPEG's is the same four "
        "with the PSNR-matched JPEG base; the others are their sweeps. Each cell is roicodec's BD-rate against that "
        "anchor."),
        "",
    ]
    for size in sizes:
        bd = summary[size]["bd"]
        q = summary[size]["match"]["base_quality"]
        anchors = list(bd["roicodec"]["psnr"])
        names = [f"scalable JPEG (q{q})" if a == SCALABLE else CODEC_NAMES.get(a, a) for a in anchors]
        lines += [f"### {_size_title(size).capitalize()}", "",
                  "| metric | " + " | ".join(names) + " |", "|---|" + "---:|" * len(anchors)]
        for m in METRICS:
            lines.append(f"| {METRIC_NAMES[m]} | " + " | ".join(_pct(bd["roicodec"][m][a]) for a in anchors) + " |")
        lines.append("")
    lines += [
        "## Anchors: the whole-image codecs against JPEG",
        "",
        ("The peers' BD-rate against Pillow's JPEG (default settings) in this run, beside the published Kodak "
        "numbers (PSNR, CompressAI's `results/` tables) that every figure here should sit near."),
        "",
        "| size | codec | PSNR | SSIM | published (Kodak PSNR) |",
        "|---|---|---:|---:|---:|",
    ]
    for size in sizes:
        peers = summary[size]["bd"]["vs_jpeg"]
        for c in peers["psnr"]:
            pub = published.get(c)
            lines.append(f"| {size} | {CODEC_NAMES.get(c, c)} | {_pct(peers['psnr'][c])} | {_pct(peers['ssim'][c])} "
                         f"| {f'about {pub:+.0f} %' if pub is not None else 'none given'} |")
    others = {k: v for k, v in published.items() if k not in WHOLE_IMAGE}
    if others:
        lines += ["", "Published for learned codecs, for scale: " + "; ".join(f"{k} about {v:+.0f} %"
                                                                              for k, v in others.items()) + "."]
    lines.append("")
    return lines


def _speed(speed: Sequence[dict[str, Any]]) -> list[str]:
    if not speed:
        return []
    first = speed[0]
    jpeg = next((r for r in speed if r["codec"] == "jpeg"), None)
    lines = [
        "## Speed",
        "",
        (f"Megapixels per second on {first['images']} images ({_size_title(first['size'])}), each timed "
        f"{first['repeats']} times with the codecs interleaved; a codec's time per image is the median of its runs, "
        "its speed the pixels of all images over the sum of those medians. Every codec runs once, untimed, before "
        "the timed runs, so the times are warm (roicodec's model weights are loaded then, once); roicodec's decode "
        "times run from the file's bytes to pixels. Single process, on the same shared machine as everything else: "
        "compare the codecs with each other, not with other machines."),
        "",
        "| codec | what is timed | encode MP/s | decode MP/s | encode time / JPEG's | decode time / JPEG's |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in speed:
        if r["codec"] == BASE:
            continue
        rel = (f"{_times(r['encode_s'] / jpeg['encode_s'])} | {_times(r['decode_s'] / jpeg['decode_s'])}" if jpeg
               else "n/a | n/a")
        lines.append(f"| {CODEC_NAMES.get(r['codec'], r['codec'])} | {r['what']} | {r['encode_mp_s']:.2f} | "
                     f"{r['decode_mp_s']:.2f} | {rel} |")
    lines.append("")
    return lines + _base_speed(speed)


def _times(x: float) -> str:
    return f"{x:.1f}x" if x < 10 else f"{x:.0f}x"


def _base_speed(speed: Sequence[dict[str, Any]]) -> list[str]:
    """The base layers' encode and decode times against JPEG 2000's and AVIF's, from the same interleaved runs."""
    base = [r for r in speed if r["codec"] == BASE]
    j2k = sorted((r for r in speed if r["codec"] == "jpeg2000"), key=lambda r: -(r.get("setting") or 0))
    if not base or not j2k:
        return []
    peers = j2k + [r for r in speed if r["codec"] == "avif"]
    n = base[0]["images"]

    def name(r: dict[str, Any]) -> str:
        if r["codec"] == BASE:
            return f"`{r['setting']}` base layer"
        top = r.get("setting")
        return CODEC_NAMES.get(r["codec"], r["codec"]) + (f" ({top} bpp)" if r["codec"] == "jpeg2000" and top else "")

    lines = [
        "### Base layer against JPEG 2000 and AVIF",
        "",
        (f"Each base model's base-only file (`roicodec.encode(image, qualities=())`) encoded and decoded "
        f"(`roicodec.decode(data, 0)`, from bytes to pixels, the weights loaded once before timing) in the same "
        f"interleaved runs as the table above, on the same {n} images, beside Pillow's JPEG 2000 (`mct=1`) at two "
        "rates (decoding more layers costs more) and AVIF. Seconds per image: the sum of the per-image medians over "
        f"{n}. Issue 7's target: the base layer decodes in at most {BASE_DECODE_TARGET:g}x JPEG 2000's time."),
        "",
        "| codec | what is timed | encode s/image | decode s/image | "
        + " | ".join(f"decode time / JPEG 2000's ({r.get('setting')} bpp)" for r in j2k) + " |",
        "|---|---|---:|---:|" + "---:|" * len(j2k),
    ]
    for r in base + peers:
        ratios = " | ".join(_times(r["decode_s"] / ref["decode_s"]) for ref in j2k)
        lines.append(f"| {name(r)} | {r['what']} | {r['encode_s'] / r['images']:.3f} | "
                     f"{r['decode_s'] / r['images']:.3f} | {ratios} |")
    lines.append("")
    strict, loose = j2k[-1], j2k[0]
    within_all = [r["setting"] for r in base if r["decode_s"] <= BASE_DECODE_TARGET * strict["decode_s"]]
    within_loose = [r["setting"] for r in base if r["decode_s"] <= BASE_DECODE_TARGET * loose["decode_s"]
                    and r["setting"] not in within_all]
    missed = [r["setting"] for r in base if r["setting"] not in within_all + within_loose]

    def listed(models: list[str]) -> str:
        return ", ".join(f"`{m}`" for m in models)

    parts = []
    if within_all:
        parts.append(f"{listed(within_all)} within {BASE_DECODE_TARGET:g}x of " + (
            "both JPEG 2000 streams" if len(j2k) > 1 else name(strict)))
    if within_loose:
        parts.append(f"{listed(within_loose)} within {BASE_DECODE_TARGET:g}x of {name(loose)} only")
    if missed:
        parts.append(f"{listed(missed)} slower than {BASE_DECODE_TARGET:g}x of every JPEG 2000 stream")
    lines += [f"Decode target in this run: {'; '.join(parts)}.", ""]
    return lines


def _base_bd(entry: dict[str, Any], metric: str) -> str:
    if metric == "ms_ssim_db" and not (entry["anchor_points"] and entry["test_points"]):
        return "n/a (no MS-SSIM: images under 161 pixels a side)"
    return _pct(entry)


def _at_jpeg(found: dict[str, Any] | None, quality: float | None, metric: str) -> str:
    """A lone model against JPEG at its quality: rate change and JPEG's interpolated bpp."""
    if quality is None:
        return "n/a (no MS-SSIM: images under 161 pixels a side)" if metric == "ms_ssim_db" else "n/a"
    if found is None:
        return f"n/a (outside JPEG's range at {quality:.2f} dB)"
    lo, hi = found["between"]
    where = f"q{lo}" if lo == hi else f"q{lo}-q{hi}"
    return f"{found['rate_change']:+.1f} % at one point (JPEG {found['bpp']:.3f} bpp, {where})"


def _num(value: float | None, fmt: str) -> str:
    return "n/a" if value is None else format(value, fmt)


def _base_layer(summary: dict[str, Any], meta: dict[str, Any], figures: dict[str, str],
                published: dict[str, float], sizes: Sequence[str]) -> list[str]:
    """Every base model's base layer alone against Pillow's JPEG, beside JPEG 2000, AVIF and WebP."""
    sizes = [size for size in sizes if summary[size].get("base_layer")]
    if not sizes:
        return []
    hashes = meta.get("base_models", {})
    factorized = published.get("bmshj2018-factorized")
    lines = [
        "## Base layer",
        "",
        ("The base layer of every installed base model coded alone (`roicodec.encode(image, qualities=(), "
        "model=name)`: bpp counts every byte of the base-only `.roi` file, PSNR and MS-SSIM are those of "
        "`decode(0)`), against Pillow's JPEG with its default settings (the JPEG rows of this run), beside JPEG 2000 "
        "(`mct=1`), AVIF and WebP. **Every figure in these tables was measured in this same run**: the same images, "
        "machine and library versions, from the rows in `rows.jsonl`."),
        "",
        "BD-rate against JPEG: the `bjontegaard` package, PCHIP, on the mean curves over the quality range both "
        "cover, as above; on PSNR, and on MS-SSIM in dB (-10 log10(1 - MS-SSIM), of the mean over images), as "
        "CompressAI computes it. Models named `<family>-q<n>` form one curve (`rd-q1` .. `rd-q5`: rate-distortion "
        "trained, GDN transforms and a factorised entropy model, q1 the lowest rate); a model on its own is one "
        "point, for which the cell gives its rate against JPEG's at the same quality, JPEG's bpp read off the same "
        "PCHIP curve (log rate against quality) that BD-rate integrates."
        + (f" For scale, the published Kodak PSNR BD-rate of bmshj2018-factorized (the same kind of model as the rd "
           f"family) against JPEG is about {factorized:+.0f} %." if factorized is not None else ""),
        "",
    ]
    for size in sizes:
        b = summary[size]["base_layer"]
        lo, hi = b["jpeg_bpp_range"]
        models = {m["model"]: m for m in b["models"]}
        lines += [f"### {_size_title(size).capitalize()}", "",
                  f"Measured in the same run; JPEG anchor: {lo:.3f} to {hi:.2f} bpp.", "",
                  "| curve | points | PSNR BD-rate vs JPEG | MS-SSIM (dB) BD-rate vs JPEG |", "|---|---|---:|---:|"]
        for e in b["entries"]:
            if e["kind"] == "model":
                m = models[e["members"][0]]
                cells = [_at_jpeg(e["jpeg_at"][metric], m[metric], metric) for metric in BASE_METRICS]
                label, points = f"`{e['name']}`", "1"
            else:
                cells = [_base_bd(e["bd"][metric], metric) for metric in BASE_METRICS]
                if e["kind"] == "family":
                    label = f"`{e['name']}` family ({', '.join(f'`{x}`' for x in e['members'])})"
                    points = str(len(e["members"]))
                else:
                    label = CODEC_NAMES.get(e["name"], e["name"])
                    points = f"{e['points']} ({e['bpp_range'][0]:.2f}-{e['bpp_range'][1]:.2f} bpp)"
            lines.append(f"| {label} | {points} | {cells[0]} | {cells[1]} |")
        lines += ["", "Each model's means over the images, and JPEG's rate at the same PSNR:", "",
                  ("| model | hash | bpp | PSNR (dB) | MS-SSIM | MS-SSIM (dB) | JPEG bpp at that PSNR | "
                  "rate vs JPEG |"), "|---|---|---:|---:|---:|---:|---:|---:|"]
        for m in b["models"]:
            found = m["jpeg_at"]["psnr"]
            jpeg_bpp = "n/a (outside JPEG's range)" if found is None else f"{found['bpp']:.3f}"
            change = "n/a" if found is None else f"{found['rate_change']:+.1f} %"
            lines.append(f"| `{m['model']}` | `{hashes.get(m['model'], '?')}` | {m['bpp']:.3f} | "
                         f"{_num(m['psnr'], '.2f')} | {_num(m['ms_ssim'], '.4f')} | {_num(m['ms_ssim_db'], '.2f')} | "
                         f"{jpeg_bpp} | {change} |")
        lines.append("")
        if size in figures.get("base", {}):
            lines += [f"![Base layers against JPEG and the peers, {_size_title(size)}]({figures['base'][size]})", "",
                      (f"*Base layers alone, {_size_title(size)}: PSNR and MS-SSIM (dB) against bpp, with Pillow's "
                       "JPEG, JPEG 2000, AVIF and WebP from the same run.*"), ""]
    return lines


def _near(ours: float, theirs: float) -> bool:
    return abs(math.log(ours / theirs)) <= math.log(1 + AGREE)


def _ladder_sentence(s: dict[str, Any], paper: dict[int, float]) -> str:
    """Why the ratios above the base behave as they do, read off the matched pair and the sweep."""
    q = s["match"]["base_quality"]
    ours, theirs = curve(s["points"], ROI), curve(s["points"], SCALABLE, q)
    top_ours, top_theirs = 100 * ours[0]["bpp"] / ours[-1]["bpp"], 100 * theirs[0]["bpp"] / theirs[-1]["bpp"]
    by_q = s["ratios"]["by_base_quality"]
    falling = sum(r[3] < r[1] for r in by_q.values())
    text = (f"Both files carry the same residual ladder with the same mask. At L3 the base layer is "
            f"{top_ours:.0f} % of roicodec's bytes and {top_theirs:.0f} % of the matched scalable JPEG's, so the "
            f"ladder sets the top-level ratio. Over the JPEG base the first layer reaches {theirs[1]['roi_psnr']:.2f} "
            f"dB ROI-PSNR, over roicodec's {ours[1]['roi_psnr']:.2f} dB. ")
    if paper[3] > paper[1]:
        trend = ("At every swept JPEG base quality" if falling == len(by_q)
                 else f"At {falling} of the {len(by_q)} swept JPEG base qualities")
        layers_ours, layers_theirs = ours[-1]["bpp"] - ours[0]["bpp"], theirs[-1]["bpp"] - theirs[0]["bpp"]
        text += (f"{trend} the ratio is lower at L3 than at L1, whereas the paper's rises from {paper[1]}x to "
                 f"{paper[3]}x. Layers added to both files pull the ratio towards 1, so a ratio that grows with the "
                 "level needs the baseline's enhancement layers to cost more than roicodec's; here the three layers "
                 f"cost {layers_theirs:.3f} bpp over the matched JPEG base against {layers_ours:.3f} bpp over "
                 "roicodec's.")
    return text


def _whole_image_sentence(s: dict[str, Any]) -> str:
    ours = curve(s["points"], ROI)
    rise = ours[-1]["psnr"] - ours[0]["psnr"]
    share = 100 * s["roi_fraction"]
    return (f"roicodec spends its level bits inside the ROI ({share:.0f} % of the pixels), so its whole-image PSNR "
            f"rises only {rise:.2f} dB from base to L3: its whole-image BD-rates rest on that narrow band and say "
            "mostly that quality outside the ROI stays at the base layer's, by design. The ROI columns are the "
            "comparison the codec is built for.")


def _anchor_sentence(summary: dict[str, Any], sizes: Sequence[str]) -> str:
    """How much of the peers' lead is the JPEG anchor's own slack: Huffman tables that ``optimize=True`` would fit."""
    parts, rates = [], []
    for size in sizes:
        pts = summary[size]["points"]
        plain = {p["setting"]: p["bpp"] for p in curve(pts, "jpeg")}
        rates += plain.values()
        optimised = {p["setting"]: p["bpp"] for p in curve(pts, SCALABLE) if p["level"] == 0}
        common = sorted(set(plain) & set(optimised))
        if common:
            lo, hi = common[0], common[-1]
            parts.append(f"{100 * (1 - optimised[lo] / plain[lo]):.0f} % at q{lo} and "
                         f"{100 * (1 - optimised[hi] / plain[hi]):.0f} % at q{hi} ({size})")
    text = ("The JPEG anchor here is Pillow's default writer (4:2:0, standard Huffman tables)"
            + (f", swept from {min(rates):.2f} to {max(rates):.1f} bpp" if rates else "")
            + "; the share a codec saves changes along the rate axis, so a sweep wider or narrower than the "
            "published curves moves the BD-rate.")
    if parts:
        text += (" Part of any lead over it is the anchor's own slack: the same JPEG with `optimize=True` (the "
                 "scalable JPEG's base layer, which also carries the `.roi` framing) is smaller by "
                 + "; ".join(parts) + ", for the same pixels.")
    return text


def _verdict(summary: dict[str, Any], paper: dict[int, float], published: dict[str, float],
             sizes: Sequence[str]) -> list[str]:
    """Sentences chosen by the numbers: what agrees with the paper and what does not, and why."""
    lines = ["## What agrees with the paper, what does not, and why", ""]
    for size in sizes:
        s = summary[size]
        r = s["ratios"]["matched"]
        q = s["match"]["base_quality"]
        implied, fit = s["ratios"]["paper_base_quality"], s["ratios"]["paper_fit_quality"]
        agree = [LEVEL_NAMES[k] for k in range(4) if _near(r[k], paper[k])]
        text = (f"- **{_size_title(size).capitalize()}.** With the JPEG base matched in PSNR (q{q}), the ratios are "
                f"{', '.join(f'{x:.2f}x' for x in r)} for base, L1, L2 and L3, against the paper's "
                f"{', '.join(f'{paper[k]}x' for k in range(4))}: ")
        text += (f"within {100 * AGREE:.0f} % of the paper at {', '.join(agree)} only. " if agree
                 else f"none is within {100 * AGREE:.0f} % of the paper's. ")
        if implied["quality"] is not None:
            text += (f"The paper's {paper[0]}x base ratio needs a JPEG base near q{implied['quality']:.0f}, against "
                     f"the q{q} that matches roicodec's base quality"
                     + (", so it compares base layers of unequal quality. " if implied["quality"] > 2 * q else ". "))
        else:
            text += (f"No JPEG base up to q{implied['at_quality']} costs {paper[0]}x roicodec's base layer (at most "
                     f"{implied['max_ratio']:.1f}x): the paper's base ratio needs a JPEG base of far higher quality "
                     "than roicodec's base, or an autoencoder base far cheaper than this one. ")
        fr = fit["ratios"]
        text += (f"The level ratios come nearest the paper's with a q{fit['quality']} JPEG base ({fr[1]:.2f}x, "
                 f"{fr[2]:.2f}x, {fr[3]:.2f}x), where the base ratio is {fr[0]:.2f}x")
        text += (", so one JPEG base quality reproduces the paper's four numbers together."
                 if _near(fr[0], paper[0]) else
                 f", not {paper[0]}x: no single JPEG base quality gives the paper's four numbers together.")
        lines.append(text)
        lines.append("  " + _ladder_sentence(s, paper))
        bd = s["bd"]["roicodec"]
        for anchor, name in ((SCALABLE, "the PSNR-matched scalable JPEG"), ("jpeg2000", "JPEG 2000")):
            if anchor not in bd["roi_psnr"]:
                continue
            parts = [f"{METRIC_NAMES[m]} {_pct(bd[m][anchor])}" for m in METRICS]
            lines.append(f"  BD-rate of roicodec against {name}: {'; '.join(parts)}.")
        lines.append("  " + _whole_image_sentence(s))
    lines.append("")
    peers = {size: summary[size]["bd"]["vs_jpeg"]["psnr"] for size in sizes}
    for c, pub in published.items():
        seen = [(size, peers[size][c]["bd_rate"]) for size in sizes if c in peers[size]
                and peers[size][c]["bd_rate"] is not None]
        if not seen:
            continue
        near = all(abs(v - pub) <= 10 for _, v in seen)
        values = ", ".join(f"{v:+.1f} % ({size})" for size, v in seen)
        lines.append(f"- **Anchor, {CODEC_NAMES.get(c, c)} against JPEG**: {values} against about {pub:+.0f} % "
                     f"published: {'within 10 points' if near else 'more than 10 points apart'}.")
    lines.append("- " + _anchor_sentence(summary, sizes))
    lines.append("")
    return lines


def render(summary: dict[str, Any], speed: Sequence[dict[str, Any]], meta: dict[str, Any],
           figures: dict[str, Any]) -> str:
    """The page. ``figures`` maps each size (and ``"ratios"``) to the PNG's path relative to the page, and
    ``"base"`` to a map from each size to its base-layer figure."""
    paper = {int(k): v for k, v in meta["published"]["paper_ratios"].items()}
    published = meta["published"]["kodak_psnr_bd_rate_vs_jpeg"]
    sizes = [s for s in meta["sizes"] if s in summary]
    lines = _header(meta) + _method(meta)
    lines += ["## The paper's table, reproduced", "",
              ("The paper reports that its scalable JPEG baseline needs "
              f"{paper[0]}x the bpp of its own codec at the base layer and {paper[1]}x, {paper[2]}x, {paper[3]}x at "
              "ROI levels 1-3 (as the project's design notes summarise the paper; they name no JPEG base quality). "
              "The ratio depends on that quality, so each table gives it at the PSNR-matched base and over the whole "
              "sweep."), ""]
    for size in sizes:
        lines += _paper_table(size, summary[size], paper)
    lines += [f"![Per-level bpp ratio against the JPEG base quality]({figures['ratios']})", "",
              ("*Scalable JPEG bpp / roicodec bpp at each level against the scalable JPEG's base quality; dotted: the "
              "paper's ratios; dashed: the PSNR-matched base.*"), "",
              "## Rate-distortion curves", "",
              ("Like the paper's Fig. 3: PSNR and SSIM against bpp, on the whole image and on the ROI, with roicodec's "
              "and the scalable JPEG's base and levels labelled."), ""]
    for size in sizes:
        lines += [f"![Rate-distortion, {_size_title(size)}]({figures[size]})", "",
                  f"*{_size_title(size).capitalize()}.*", ""]
    lines += _bd_tables(summary, published, sizes)
    lines += _base_layer(summary, meta, figures, published, sizes)
    lines += _speed(speed)
    lines += _verdict(summary, paper, published, sizes)
    return "\n".join(lines).rstrip() + "\n"

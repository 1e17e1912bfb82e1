"""How every figure on the page was obtained, in one place: the "How it is measured" section, and the paragraphs
on method that other sections put beside their tables (matching, anchors, base layers, timing). What the figures
show, and what they are judged against, stays with each section."""

from __future__ import annotations

from typing import Any

from roicodec.bench.analysis import FULL_OVERLAP
from roicodec.bench.report.formats import about, codec_name, db, size_title
from roicodec.bench.report.markdown import bullets
from roicodec.metrics import MS_SSIM_WEIGHTS, SSIM_SIGMA, ms_ssim_min_side

BPP = ("**bpp**: every byte a reader of that operating point needs x 8 / (width x height). For roicodec and the "
       "scalable JPEG that is the `.roi` file's prefix up to the level (signature, header, base, mask, layers); for "
       "JPEG 2000 the codestream holding layers 1..k; for the others the whole file.")
QUALITY = ("**PSNR** on 8-bit RGB, peak 255, per image; **ROI-PSNR** over the ROI's pixels only. **SSIM**: "
           f"scikit-image, Gaussian window sigma {SSIM_SIGMA}, data range 255, population covariances, per channel "
           "and averaged; **ROI-SSIM** averages the same per-pixel SSIM map over the ROI (the 5-pixel border that "
           "scikit-image's mean leaves out is left out of both). **MS-SSIM** (whole image; Wang, Simoncelli and Bovik "
           f"2003): {len(MS_SSIM_WEIGHTS)} scales weighted {', '.join(map(str, MS_SSIM_WEIGHTS))}, the same SSIM at "
           "each scale with the window wholly inside the image, contrast-structure at scales 1-4 and luminance x "
           "contrast-structure at scale 5, 2x2 average pooling between scales, per channel and averaged "
           "(pytorch_msssim's algorithm, which CompressAI reports with); none on images under "
           f"{ms_ssim_min_side()} pixels a side. Each is averaged over the images per operating point, as is bpp; "
           "MS-SSIM in dB is -10 log10(1 - mean MS-SSIM).")
BD_RATE = ("**BD-rate**: the `bjontegaard` package, PCHIP, on the mean curves, over the quality range both curves "
           "cover. Negative: the test codec needs fewer bits for the same quality. A point that does not raise "
           "quality over a cheaper one is left out (PCHIP needs rising quality). When the common range is under "
           f"{100 * FULL_OVERLAP:.0f} % of the two curves' joint range, the cell names it (`over A-B`): the number "
           "speaks for that band only. When it is under half of the narrower curve's own range, the page gives none "
           "(`n/a (x % overlap)`, x of the joint range; `summary.json` keeps it). `n/a (no common range)`: the "
           "curves share no quality.")
BD_RATE_CURVES = ("roicodec's curve is its four operating points (base, L1, L2, L3); the scalable JPEG's is the same "
                  "four with the PSNR-matched JPEG base; the others are their sweeps. Each cell is roicodec's BD-rate "
                  "against that anchor.")
ANCHORS = ("The peers' BD-rate against Pillow's JPEG (default settings) in this run, beside the published Kodak "
           "numbers (PSNR, CompressAI's `results/` tables) that every figure here should sit near.")
BASE_LAYER_CODING = (
    "The base layer of every installed base model coded alone (`roicodec.encode(image, qualities=(), "
    "model=name)`: bpp counts every byte of the base-only `.roi` file, PSNR and MS-SSIM are those of `decode(0)`), "
    "against Pillow's JPEG with its default settings (the JPEG rows of this run), beside JPEG 2000 (`mct=1`), AVIF "
    "and WebP. **Every figure in these tables was measured in this same run**: the same images, machine and library "
    "versions, from the rows in `rows.jsonl`.")
BASE_LAYER_BD_RATE = (
    "BD-rate against JPEG: the `bjontegaard` package, PCHIP, on the mean curves over the quality range both cover, "
    "as above; on PSNR, and on MS-SSIM in dB (-10 log10(1 - MS-SSIM), of the mean over images), as CompressAI "
    "computes it. Models named `<family>-q<n>` form one curve (`rd-q1` .. `rd-q5`: rate-distortion trained, GDN "
    "transforms and a factorised entropy model, q1 the lowest rate); a model on its own is one point, for which the "
    "cell gives its rate against JPEG's at the same quality, JPEG's bpp read off the same PCHIP curve (log rate "
    "against quality) that BD-rate integrates.")


def section(meta: dict[str, Any]) -> list[str]:
    """"How it is measured": the measures, then this run's sizes, ROI and codecs as ``meta.json`` describes them."""
    codecs = "\n".join(f"- {codec_name(name)}: {text}" for name, text in meta["codecs"].items())
    return ["## How it is measured",
            bullets([BPP, QUALITY, BD_RATE, f"**Sizes**: the full images, and the paper's {meta['crop_note']}",
                     f"**ROI**: {meta['roi_note']}", f"**Codecs**:\n{codecs}"])]


def matched_base(match: dict[str, Any]) -> str:
    return (f"The JPEG base layer is matched to roicodec's base layer by PSNR: of the swept JPEG base qualities, "
            f"q{match['base_quality']} gives the mean PSNR nearest roicodec's ({db(match['jpeg_psnr'])} dB against "
            f"{db(match['roicodec_psnr'])} dB). Ratio = scalable JPEG bpp / roicodec bpp (above 1: roicodec needs "
            "fewer bits), as the paper gives it.")


def base_layer_bd_rate(factorized: float | None) -> str:
    """The base layers' BD-rate, with the published figure of the nearest kind of model where there is one."""
    if factorized is None:
        return BASE_LAYER_BD_RATE
    return (BASE_LAYER_BD_RATE + " For scale, the published Kodak PSNR BD-rate of bmshj2018-factorized (the same kind "
            f"of model as the rd family) against JPEG is {about(factorized)}.")


def speed(first: dict[str, Any]) -> str:
    """How the speed table was timed; ``first`` is any of its rows (they share images, size and repeats)."""
    return (f"Megapixels per second on {first['images']} images ({size_title(first['size'])}), each timed "
            f"{first['repeats']} times with the codecs interleaved; a codec's time per image is the median of its "
            "runs, its speed the pixels of all images over the sum of those medians. Every codec runs once, untimed, "
            "before the timed runs, so the times are warm (roicodec's model weights are loaded then, once); "
            "roicodec's decode times run from the file's bytes to pixels. Single process, on the same shared machine "
            "as everything else: compare the codecs with each other, not with other machines.")


def base_speed(images: int) -> str:
    return ("Each base model's base-only file (`roicodec.encode(image, qualities=())`) encoded and decoded "
            "(`roicodec.decode(data, 0)`, from bytes to pixels, the weights loaded once before timing) in the same "
            f"interleaved runs as the table above, on the same {images} images, beside Pillow's JPEG 2000 (`mct=1`) "
            "at two rates (decoding more layers costs more) and AVIF. Seconds per image: the sum of the per-image "
            f"medians over {images}.")

"""Write the seed corpus: small valid files that cover every chunk type and both modes.

    python -m fuzz.make_corpus
"""

import json
from functools import partial
from pathlib import Path

import numpy as np

import roicodec

OUT = Path(__file__).parent / "corpus"
CODECS = Path(__file__).parent / "corpus_codecs.json"
"""The versions of the layer codecs that wrote the corpus (:func:`codec_versions`): another version's encoder may
write other bytes for the same pixels, so tests/test_golden.py compares bytes only where these match."""


MODEL = "paper-ae"
"""The corpus's base model: named, so that a change of the package's default does not change the corpus."""


def seeds() -> dict[str, bytes]:
    """Every seed file by name, coded afresh (tests/test_golden.py checks they equal the committed corpus)."""
    encode = partial(roicodec.encode, model=MODEL, qualities=(75, 90, 100))  # the 1.0 files, as they were written
    v11 = partial(roicodec.encode, model=MODEL)
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 255, 48)[None, :, None]
    rgb = np.clip(ramp + rng.normal(0, 20, (32, 48, 3)), 0, 255).astype(np.uint8)
    mask = np.zeros((32, 48), bool)
    mask[6:26, 10:40] = True
    mask[2, 3] = True
    gray = rgb[..., 1].copy()
    out = {
        "rgb_ladder.roi": encode(rgb, mask),
        "rgb_rect.roi": encode(rgb, np.pad(np.ones((8, 8)), ((12, 12), (20, 20))), qualities=(90,)),
        "gray_ladder.roi": encode(gray, mask, qualities=(50, 100)),
        "base_only.roi": encode(rgb[:17, :23], qualities=()),
        # Format 1.1: the default ladder (AVIF residuals, an exact top level), near-lossless, and a gray stack.
        "v11_default.roi": v11(rgb, mask),
        "v11_near.roi": v11(gray, mask, ladder="avif:50,near:2"),
        "v11_stack.roi": v11(np.stack([gray[:16, :24], gray[16:, 24:]]),
                             np.stack([mask[:16, :24], np.zeros((16, 24), bool)]), ladder="exact"),
        "meta.roi": encode(gray[:16, :16], metadata={"name": "seed", "scale": [1.0, 0.5]}),
    }
    big = np.clip(np.linspace(0, 255, 130)[None, :, None] + rng.normal(0, 20, (80, 130, 3)), 0, 255).astype(np.uint8)
    big_mask = np.zeros((80, 130), bool)
    big_mask[10:70, 40:120] = True
    out["tiled.roi"] = encode(big, big_mask, qualities=(60, 95), tile=64)
    out["stack.roi"] = encode(np.stack([gray[:16, :24], gray[16:, 24:]]),
                              np.stack([mask[:16, :24], np.zeros((16, 24), bool)]), qualities=(80,))
    out["truncated.roi"] = out["rgb_ladder.roi"][:-100]
    return out


def codec_versions() -> dict[str, str]:
    """The encoders whose output the seeds hold: Pillow's libjpeg-turbo (the 1.0 files' JPEG layers) and imagecodecs
    with the libraries it bundles (format 1.1's AVIF, JPEG XL and JPEG-LS layers)."""
    import imagecodecs
    from PIL import features

    return {"libjpeg_turbo": str(features.version("libjpeg_turbo")), "imagecodecs": imagecodecs.__version__,
            "avif": imagecodecs.avif_version(), "jpegxl": imagecodecs.jpegxl_version(),
            "jpegls": imagecodecs.jpegls_version()}


def main() -> None:
    seeds_ = seeds()
    OUT.mkdir(exist_ok=True)
    for name, data in seeds_.items():
        (OUT / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")
    CODECS.write_text(json.dumps(codec_versions(), indent=1) + "\n")


if __name__ == "__main__":
    main()

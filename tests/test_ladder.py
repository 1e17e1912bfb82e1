import numpy as np
import pytest

from roicodec import ladder, layer_codecs
from roicodec.container import Layer

JPEG100 = (Layer("jpeg", 100),)


@pytest.mark.parametrize("step", [1, 2])
def test_integer_residual_mapping_equals_the_format_formula(step: int) -> None:
    """docs/format.md: clip(round(r / step) + 128, 0, 255), round half to even; every residual a tile can hold."""
    r = np.arange(-255, 256, dtype=np.int16)
    expected = np.clip(np.round(r / step) + 128, 0, 255).astype(np.uint8)
    assert np.array_equal(layer_codecs._to_code(r.copy(), step), expected)


def _pillow_guess(width: int, height: int, quality: int) -> int:
    """The output buffer Pillow 10-13 gives an optimised JPEG unless told otherwise: what the noise test outgrows."""
    from PIL import ImageFile

    return max(ImageFile.MAXBLOCK, width * height * (2 if quality >= 95 else 1), width * 4)


@pytest.mark.parametrize("bands", [1, 3], ids=["gray", "rgb"])
def test_noise_codes_and_decodes_at_every_quality(bands: int) -> None:
    """Full-range noise against a flat base (every code from 1 to 255, step 1): the residual that outgrows the
    buffer Pillow's optimised JPEG writer guesses, the way noisy photographs and micrographs did. 192x192 is the
    smallest square at which 4:4:4 RGB layers outgrew it; gray and 4:2:0 never did, and are checked all the same."""
    rng = np.random.default_rng(0)
    original = rng.integers(1, 256, (192, 192, bands), dtype=np.uint8)
    flat = np.full_like(original, 128)
    mask = np.ones(original.shape[:2], bool)
    unrefined = np.abs(flat.astype(int) - original).mean()
    outgrown = []
    for quality in range(1, 101):
        recon = flat.copy()
        (payload,) = ladder.encode_tile(original, recon, mask, (Layer("jpeg", quality),))
        assert payload[0] == 1
        if len(payload) > _pillow_guess(192, 192, quality):
            outgrown.append(quality)
        (decoded,) = ladder.decode_tile(flat.copy(), mask, [payload], (Layer("jpeg", quality),))
        assert np.array_equal(decoded, recon), quality  # the reader rebuilds what the writer refined
        err = np.abs(decoded.astype(int) - original).mean()
        assert err < (1 if quality == 100 else unrefined), (quality, err)
    if bands == 3:  # the test keeps its teeth only while the input outgrows Pillow's guess
        assert outgrown and min(outgrown) <= 93, outgrown


def test_noise_through_the_api() -> None:
    """The reproduction from the report, at the smallest size where it failed with the default qualities."""
    import roicodec
    from roicodec.metrics import psnr

    image = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    with roicodec.open(roicodec.encode(image, None)) as f:
        scores = [psnr(image, level) for level in f.decode_all()]
    assert scores[0] < scores[1] < scores[2] < scores[3] and scores[3] > 45, scores


def test_pillow_buffer_is_put_back() -> None:
    """The buffer is raised through a process-wide setting: other code must find it as it was."""
    from PIL import ImageFile

    before = ImageFile.MAXBLOCK
    layer_codecs._jpeg(np.random.default_rng(0).integers(0, 256, (192, 192, 3), dtype=np.uint8), 100)
    assert ImageFile.MAXBLOCK == before


@pytest.mark.parametrize(("base", "original", "step", "expected"), [
    (0, 127, 1, 127),    # |r| = 127: the last residual step 1 holds
    (0, 128, 2, 128),    # |r| = 128: step 2, coded as 64
    (255, 127, 2, 127),  # r = -128
    (0, 255, 2, 254),    # the largest residual: 255 / 2 rounds to 128 (half to even), code 255 caps it at 127 * 2
    (200, 200, 1, 200),  # nothing to add
])
def test_residual_step_known_answers(base: int, original: int, step: int, expected: int) -> None:
    """A flat residual over whole 8x8 blocks is coded exactly by a gray JPEG at quality 100, so each level is known
    to the grey level: a writer that picks the wrong step or a reader that ignores it misses it by 64 or more."""
    recon = np.full((16, 24, 1), base, np.uint8)
    tile = np.full_like(recon, original)
    mask = np.ones(tile.shape[:2], bool)
    (payload,) = ladder.encode_tile(tile, recon, mask, JPEG100)
    assert payload[0] == step
    assert np.all(recon == expected)
    (decoded,) = ladder.decode_tile(np.full_like(tile, base), mask, [payload], JPEG100)
    assert np.all(decoded == expected)


def test_residual_step_applies_to_the_whole_box_and_only_the_roi() -> None:
    """One pixel at |r| = 128 sets step 2 for the tile's box; pixels outside the ROI keep the level below."""
    recon = np.zeros((16, 16, 1), np.uint8)
    tile = np.full_like(recon, 100)
    tile[:8, :8] = 128
    mask = np.ones(tile.shape[:2], bool)
    mask[8:, 8:] = False
    before = recon.copy()
    (payload,) = ladder.encode_tile(tile, recon, mask, JPEG100)
    assert payload[0] == 2
    (decoded,) = ladder.decode_tile(before.copy(), mask, [payload], JPEG100)
    assert np.array_equal(decoded, recon)
    assert np.all(decoded[:8, :8] == 128)
    assert np.all(decoded[8:, 8:] == 0)
    # 100 / 2 = 50 codes 178: the JPEG smooths the edge between 50 and 64 a little, and no more.
    assert np.abs(decoded[mask].astype(int) - tile[mask]).max() <= 4


@pytest.mark.parametrize("layer", ["avif", "exact", "near"])
def test_noise_codes_and_decodes_with_every_layer_codec(layer: str) -> None:
    """Full-range noise through the other layer kinds, at every quality (AVIF) or a range of bounds (near): no
    codec may fail on it, and each level is what its kind promises."""
    rng = np.random.default_rng(1)
    original = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    mask = np.ones(original.shape[:2], bool)
    params = {"avif": range(1, 101), "exact": [0], "near": [1, 2, 4, 16, 255]}[layer]
    for param in params:
        spec = (Layer(layer, param),)
        recon = np.full_like(original, 128)
        (payload,) = ladder.encode_tile(original, recon, mask, spec)
        (decoded,) = ladder.decode_tile(np.full_like(original, 128), mask, [payload], spec)
        assert np.array_equal(decoded, recon), (layer, param)
        err = np.abs(decoded.astype(int) - original).max()
        assert err <= {"avif": 255, "exact": 0, "near": param}[layer], (layer, param, err)

"""The codec adapters: every operating point decodes from its own bytes; the baseline pays roicodec's framing."""

import io
import itertools

import numpy as np
import pytest

import roicodec
from roicodec import container
from roicodec.bench import codecs
from roicodec.metrics import psnr
from roicodec.models import registry


@pytest.fixture(scope="module")
def coded(small) -> dict:
    image, mask = small
    out = {}
    for codec in codecs.default_codecs():
        streams = codec.encode(image, mask, codec.jobs[2 * len(codec.jobs) // 3])  # mid-sweep: neither extreme
        out[codec.name] = (codec, streams)
    return out


def test_every_codec_round_trips(small, coded) -> None:
    image, mask = small
    for name, (codec, streams) in coded.items():
        if name == "base":  # the base layer alone refines nothing: tested below
            continue
        assert streams, name
        scores = []
        for stream in streams:
            decoded = codec.decode(stream)
            assert decoded.shape == image.shape and decoded.dtype == np.uint8, name
            scores.append(psnr(image, decoded, mask))  # the ROI: what every codec here refines
        assert max(scores) > 30, (name, scores)


def test_roicodec_levels_are_the_files_level_prefixes(small, coded) -> None:
    image, mask = small
    _, streams = coded["roicodec"]
    data = roicodec.encode(image, mask, ladder="paper")  # the bench reproduces the paper with its ladder
    assert [len(s.data) for s in streams] == [info.bytes for info in roicodec.open(data).level_info]
    assert [s.level for s in streams] == [0, 1, 2, 3]
    assert streams[-1].data == data


def _framing(data: bytes) -> int:
    """Bytes of a ``.roi`` level-0 prefix that are not the base layer's payload."""
    fp = io.BytesIO(data)
    base = container.read_payloads(fp, container.read_layout(fp), 0)[container.BASE][0]
    return len(data) - len(base)


def test_scalable_jpeg_pays_the_same_framing_as_roicodec(coded) -> None:
    (_, ours), (_, theirs) = coded["roicodec"], coded["scalable-jpeg"]
    assert _framing(ours[0].data) == _framing(theirs[0].data)
    # Above the base both add the mask and layers in the same chunks.
    assert [s.level for s in theirs] == [0, 1, 2, 3]


def test_scalable_jpeg_refines_only_the_roi(small, coded) -> None:
    image, mask = small
    codec, streams = coded["scalable-jpeg"]
    levels = [codec.decode(s) for s in streams]
    base_jpeg = levels[0]
    for level in levels[1:]:
        assert np.array_equal(level[~mask], base_jpeg[~mask])
    scores = [psnr(image, level, mask) for level in levels]
    assert all(a < b for a, b in itertools.pairwise(scores)), scores


def test_whole_image_codecs_sweep_their_qualities(small) -> None:
    image, mask = small
    jpeg = codecs.jpeg()
    sizes = [len(jpeg.encode(image, mask, q)[0].data) for q in jpeg.jobs]
    assert sizes == sorted(sizes)


BASE_PSNR = {"paper-ae": 22.521, "rd-q1": 25.624, "rd-q2": 26.808, "rd-q3": 28.064, "rd-q4": 29.099, "rd-q5": 29.759,
             # The hyperprior codes the rd twins' latents: the same pixels.
             "hp-q1": 25.624, "hp-q2": 26.808, "hp-q3": 28.064, "hp-q4": 29.099, "hp-q5": 29.759,
             # The same latents through the tuned synthesis: better pixels.
             "hps-q1": 25.766, "hps-q2": 26.890, "hps-q3": 28.105, "hps-q4": 29.139, "hps-q5": 29.836}
"""PSNR (dB) of each shipped model's base layer of the ``small`` crop. Another CPU may round a latent value here and
there (README, "Limits"), hence the tolerance; a wrong model, table or transform moves it by far more."""


def test_base_layers_are_every_installed_models_base_only_file(small) -> None:
    image, mask = small
    codec = next(c for c in codecs.default_codecs() if c.name == "base")
    assert list(codec.jobs) == list(registry.available())
    for model in codec.jobs:
        (stream,) = codec.encode(image, mask, model)
        data = roicodec.encode(image, qualities=(), model=model)
        assert stream.data == data and stream.setting == model and stream.level == 0
        with roicodec.open(data) as f:
            assert f.model[0] == model and f.qualities == () and f.level_info[0].bytes == len(data)
        decoded = codec.decode(stream)
        assert decoded.shape == image.shape and decoded.dtype == np.uint8
        assert np.array_equal(decoded, roicodec.decode(data, 0))
        assert psnr(image, decoded) == pytest.approx(BASE_PSNR[model], abs=0.05), model
    assert [c.jobs for c in codecs.default_codecs(["paper-ae"]) if c.name == "base"] == [("paper-ae",)]


def test_jpeg_sweep_reaches_down_to_base_layer_quality(small) -> None:
    # JPEG's rate at a base layer's PSNR must be read off the curve, not extrapolated below its lowest quality.
    image, mask = small
    jpeg = codecs.jpeg()
    lowest = psnr(image, jpeg.decode(jpeg.encode(image, mask, min(jpeg.jobs))[0]))
    base = codecs.BaseLayers(("paper-ae",))
    assert lowest < psnr(image, base.decode(base.encode(image, mask, "paper-ae")[0]))

"""JPEG 2000 quality-layer prefixes: each a complete codestream whose length is the rate of its layers."""

import io
import itertools

import numpy as np
import pytest
from PIL import Image

from roicodec.bench.j2k import layer_prefixes
from roicodec.metrics import bpp, psnr

TARGETS = (0.25, 0.5, 1.0, 2.0, 4.0)


def encode(image: np.ndarray, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "JPEG2000", no_jp2=True, quality_mode="rates", mct=1, irreversible=True,
                                quality_layers=[24 / t for t in TARGETS], **options)
    return buf.getvalue()


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def test_prefixes_hold_one_more_layer_each(small) -> None:
    image, _ = small
    full = encode(image, plt=True)
    prefixes = layer_prefixes(full)
    assert len(prefixes) == len(TARGETS)
    sizes = [len(p) for p in prefixes]
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)
    # OpenJPEG's rate control aims at the cumulative targets: the counted bytes should land near them.
    h, w = image.shape[:2]
    for n, target in zip(sizes[1:], TARGETS[1:]):
        assert bpp(n, w, h) == pytest.approx(target, rel=0.15)
    scores = [psnr(image, decode(p)) for p in prefixes]
    assert all(a < b for a, b in itertools.pairwise(scores)), scores


def test_last_prefix_is_the_codestream_without_its_index(small) -> None:
    image, _ = small
    full = encode(image, plt=True)
    last = layer_prefixes(full)[-1]
    assert np.array_equal(decode(last), decode(full))
    assert len(last) < len(full)  # the PLT marker is not counted


def test_codestream_without_plt_is_refused(small) -> None:
    image, _ = small
    with pytest.raises(ValueError, match="plt=True"):
        layer_prefixes(encode(image))
    with pytest.raises(ValueError, match="not a JPEG 2000"):
        layer_prefixes(b"\x00\x00" + encode(image, plt=True))


def test_other_progressions_are_refused(small) -> None:
    image, _ = small
    with pytest.raises(ValueError, match="LRCP"):
        layer_prefixes(encode(image, plt=True, progression="RLCP"))

"""Programs that never import roicodec open `.roi` files through Pillow (src/_roicodec_pillow_hook.py)."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import _roicodec_pillow_hook as hook
import roicodec
from roicodec.container import SIGNATURE
from roicodec.metrics import psnr


def test_hook_signature_is_the_format_signature() -> None:
    assert hook._SIGNATURE == SIGNATURE


@pytest.fixture(scope="module")
def roi_file(tmp_path_factory, small_file):
    path = tmp_path_factory.mktemp("hook") / "small.roi"
    path.write_bytes(small_file)
    return path


READERS = {
    "PIL.Image.open": "from PIL import Image\nimport numpy as np\npixels = np.asarray(Image.open(PATH))",
    "imageio.v3.imread": "import imageio.v3 as iio\npixels = iio.imread(PATH)",
    "skimage.io.imread": "import skimage.io\npixels = skimage.io.imread(PATH)",
    "matplotlib.pyplot.imread": "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n"
                                "pixels = plt.imread(PATH)",
}
# Pillow and matplotlib take the image as it opens: the top level. imageio (and scikit-image through it) ask for
# frame 0 explicitly: the base layer (docs/pillow.md).
EXPECTED_LEVEL = {"PIL.Image.open": 3, "imageio.v3.imread": 0, "skimage.io.imread": 0, "matplotlib.pyplot.imread": 3}


def _run(code: str, path, disable: bool = False) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "ROICODEC_NO_PILLOW_HOOK"}
    if disable:
        env["ROICODEC_NO_PILLOW_HOOK"] = "1"
    program = "\n".join([
        "import hashlib, json, sys",
        f"PATH = {str(path)!r}",
        "imported_before = 'roicodec' in sys.modules",
        "try:",
        textwrap.indent(code, "    "),
        "    import numpy as np",
        "    out = {'ok': True, 'sha': hashlib.sha256(np.ascontiguousarray(pixels)).hexdigest(),",
        "           'shape': list(pixels.shape), 'dtype': str(pixels.dtype)}",
        "except Exception as exc:",
        "    out = {'ok': False, 'error': type(exc).__name__, 'message': str(exc)}",
        "out['imported_before'] = imported_before",
        "out['imported_after'] = 'roicodec' in sys.modules",
        "from PIL import Image",
        "out['registered'] = Image.registered_extensions().get('.roi')",
        "print(json.dumps(out))",
    ])
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("reader", READERS)
def test_readers_open_roi_without_importing_roicodec(reader, roi_file, small_levels) -> None:
    import hashlib

    out = _run(READERS[reader], roi_file)
    assert out["ok"], out
    assert not out["imported_before"]
    expected = small_levels[EXPECTED_LEVEL[reader]]
    assert out["shape"] == list(expected.shape) and out["dtype"] == "uint8"
    assert out["sha"] == hashlib.sha256(np.ascontiguousarray(expected)).hexdigest()


NO_READER = {
    "PIL.Image.open": ("UnidentifiedImageError", "cannot identify image file"),
    "imageio.v3.imread": ("OSError", "Could not find a backend"),
    "skimage.io.imread": ("OSError", "Could not find a backend"),
    "matplotlib.pyplot.imread": ("UnidentifiedImageError", "cannot identify image file"),
}
"""How each reader fails on a .roi when no plugin reads it: what the hook, switched off, must leave them with."""


@pytest.mark.parametrize("reader", READERS)
def test_environment_variable_turns_the_hook_off(reader, roi_file) -> None:
    out = _run(READERS[reader], roi_file, disable=True)
    assert not out["ok"] and (out["error"], NO_READER[reader][1] in out["message"]) == (NO_READER[reader][0], True)
    assert not out["imported_after"] and out["registered"] is None, out


IMAGEJ_ROI = bytes.fromhex("496f757400e300010100") + bytes(54)  # "Iout", version 227, a rectangle


def test_hook_accepts_exactly_the_signature() -> None:
    assert hook._accept(SIGNATURE + b"anything")
    assert not hook._accept(SIGNATURE[:7]) and not hook._accept(b"x" + SIGNATURE)
    assert not hook._accept(IMAGEJ_ROI)


@pytest.mark.parametrize("content", [IMAGEJ_ROI, b"random bytes named x.roi" * 10], ids=["imagej", "random"])
def test_hook_turns_foreign_roi_files_away_without_importing_roicodec(tmp_path, content) -> None:
    """ImageJ's .roi files (and any other bytes) fail as they would without roicodec, and cost no import of it: the
    hook's own signature check refuses them before the plugin is loaded."""
    path = tmp_path / "foreign.roi"
    path.write_bytes(content)
    out = _run("from PIL import Image\npixels = Image.open(PATH)", path)
    assert (out["ok"], out["error"], out["registered"]) == (False, "UnidentifiedImageError", "ROI"), out
    assert not out["imported_after"], out


def test_importing_pillow_alone_does_not_import_roicodec() -> None:
    code = "import sys; from PIL import Image; print('roicodec' in sys.modules, Image.registered_extensions()['.roi'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "ROI"]


def test_thumbnail_uses_the_preview_and_no_enhancement_layer(astronaut, tmp_path, monkeypatch) -> None:
    from PIL import Image

    path = tmp_path / "astro.roi"
    roicodec.encode(astronaut, path=path)
    with roicodec.open(path) as f:
        assert f.has_preview
        full = Image.fromarray(f.decode())

    def no_levels(self, level=None):
        raise AssertionError("thumbnail decoded a level")

    monkeypatch.setattr(roicodec.RoiFile, "decode", no_levels)
    with Image.open(path) as im:
        im.thumbnail((64, 64))
        thumb = np.asarray(im)
    full.thumbnail((64, 64))
    assert thumb.shape == np.asarray(full).shape == (64, 64, 3)
    assert psnr(np.asarray(full), thumb) > 24


def test_draft_declines_small_reductions(small_file) -> None:
    import io

    from PIL import Image

    with Image.open(io.BytesIO(small_file)) as im:
        assert im.draft(None, (100, 80)) is None
        assert im.draft(None, (30, 25)) == ("RGB", (0, 0, 30.0, 25.0))
        assert im.size == (30, 25)
        im.seek(0)  # choosing a level again returns to full size
        assert im.size == (120, 100)

import subprocess
import sys

import pytest

HEAVY = ("torch", "PyQt5", "PyQt6", "PySide2", "PySide6", "qtpy", "napari", "mmseg", "mmcv", "mmengine", "vispy", "cv2")


@pytest.mark.read_only
def test_import_roicodec_stays_light() -> None:
    code = f"import sys, roicodec; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.read_only
def test_reading_and_writing_never_import_torch(tmp_path) -> None:
    """Open, decode every level, preview, and encode, with torch made unimportable: the plain install (no torch)
    does all of it, through ONNX Runtime."""
    import numpy as np

    import roicodec

    image = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    path = tmp_path / "a.roi"
    roicodec.encode(image, np.ones((40, 56), bool), path)
    code = (
        "import sys\n"
        "sys.modules['torch'] = None  # any import of torch now raises ImportError\n"
        "import numpy as np, roicodec\n"
        "from PIL import Image\n"
        f"f = roicodec.open({str(path)!r})\n"
        "print('onnxruntime' in sys.modules, f.size, f.levels)\n"
        "levels = f.decode_all()\n"
        "print(levels[-1].tobytes() == np.load(sys.argv[1]).tobytes(), f.preview().shape)\n"
        f"im = Image.open({str(path)!r}); im.load(); print(im.size)\n"
        "print(roicodec.open(roicodec.encode(levels[0])).size)\n"
    )
    np.save(tmp_path / "image.npy", image)
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path / "image.npy")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["False (56, 40) 4", "True (10, 14, 3)", "(56, 40)", "(56, 40)"]

import subprocess
import sys

HEAVY = ("torch", "PyQt5", "PyQt6", "PySide2", "PySide6", "qtpy", "napari", "mmseg", "mmcv", "mmengine", "vispy")


def test_import_roicodec_stays_light() -> None:
    code = f"import sys, roicodec; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_decoding_pixels_is_what_imports_torch(tmp_path) -> None:
    code = (
        "import sys, numpy as np, roicodec\n"
        "data = roicodec.encode(np.zeros((32, 32, 3), np.uint8), qualities=())\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"

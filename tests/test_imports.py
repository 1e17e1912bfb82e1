import subprocess
import sys

HEAVY = ("torch", "PyQt5", "PyQt6", "PySide2", "PySide6", "qtpy", "napari", "mmseg", "mmcv", "mmengine", "vispy")


def test_import_roicodec_stays_light() -> None:
    code = f"import sys, roicodec; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_decoding_pixels_is_what_imports_torch(tmp_path) -> None:
    """Opening a file and reading its header stays light; the first pixels decoded bring torch in."""
    import numpy as np

    import roicodec

    path = tmp_path / "a.roi"
    roicodec.encode(np.zeros((32, 32, 3), np.uint8), path=path)
    code = (
        "import sys, roicodec\n"
        f"f = roicodec.open({str(path)!r})\n"
        "print('torch' in sys.modules, f.size, f.levels)\n"
        "pixels = f.decode(0)\n"
        "print('torch' in sys.modules, pixels.shape)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["False (32, 32) 4", "True (32, 32, 3)"]

import subprocess
import sys


def test_importing_the_segment_api_loads_no_heavy_module() -> None:
    code = ("import sys, roicodec.segment, roicodec.cli\n"
            "print([m for m in ('torch', 'mmseg', 'mmcv', 'mmengine', 'cv2') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

import subprocess
import sys

import pytest

CHILD = r"""
import sys
from roicodec.segment import mmcv_ops_shim
assert mmcv_ops_shim.install() and mmcv_ops_shim.install()  # idempotent
import mmseg.models, mmcv.ops
assert mmcv.ops is sys.modules["mmcv.ops"] and mmcv.ops.__file__ == mmcv_ops_shim.__file__
try:
    from mmcv.ops import CrissCrossAttention
except ModuleNotFoundError as exc:
    assert "compiled ops" in str(exc)
else:
    raise AssertionError("an op the stand-in lacks must not import")
print("ok")
"""


def test_installs_where_compiled_ops_are_missing_and_mmseg_imports() -> None:
    pytest.importorskip("mmseg")
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_leaves_real_ops_alone(monkeypatch) -> None:
    from types import ModuleType

    from roicodec.segment import mmcv_ops_shim

    real = ModuleType("mmcv.ops")
    monkeypatch.setitem(sys.modules, "mmcv.ops", real)
    assert not mmcv_ops_shim.install()
    assert sys.modules["mmcv.ops"] is real


def test_point_sample_reads_pixel_centres() -> None:
    torch = pytest.importorskip("torch")
    from roicodec.segment.mmcv_ops_shim import point_sample

    image = torch.arange(2 * 4 * 6, dtype=torch.float32).reshape(1, 2, 4, 6)
    ys, xs = torch.tensor([0, 3, 2]), torch.tensor([0, 5, 1])
    points = torch.stack([(xs + 0.5) / 6, (ys + 0.5) / 4], dim=-1)[None]  # 1 x P x 2, (x, y) in [0, 1]
    out = point_sample(image, points)
    assert out.shape == (1, 2, 3)
    assert torch.allclose(out[0], image[0][:, ys, xs], atol=1e-5)

import json

import pytest

pytest.importorskip("mmseg")


def test_evaluate_prints_miou_and_iou_per_class_as_json(fake_camvid, capsys) -> None:
    from roicodec.segment import evaluate

    assert evaluate.main(["--data", str(fake_camvid)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "swin-pico-camvid" and report["images"] == 2 and len(report["IoU"]) == 11
    assert 0 <= report["mIoU"] <= 1 and report["command"].startswith("python -m roicodec.segment.evaluate --data")

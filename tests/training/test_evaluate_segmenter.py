import json
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("mmseg")


def test_evaluate_prints_miou_and_iou_per_class_as_json(fake_camvid, capsys) -> None:
    from training import evaluate_segmenter as evaluate

    assert evaluate.main(["--data", str(fake_camvid)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "swin-pico-camvid" and report["images"] == 2 and len(report["IoU"]) == 11
    assert report["split"] == "val" and report["command"] == f"python -m training.evaluate_segmenter --data {fake_camvid}"
    scored = [v for v in report["IoU"].values() if v is not None]
    assert scored and report["mIoU"] == pytest.approx(np.mean(scored), abs=1e-4)  # the mean of what it lists


def test_evaluate_scores_known_predictions(tmp_path, monkeypatch, capsys) -> None:
    """Two 4x4 frames with a known truth and a segmenter that answers a known map: every figure is counted by hand.

    Frame 1: truth Sky (0) on the left half, Road (3) on the right; prediction Sky everywhere. Frame 2: truth Car (8)
    with its top row unlabelled (11, left out); prediction Car, but Road in the bottom row.
    Sky: 8 right / 8 predicted + 0 missed + 8 wrongly = 0.5. Road: 0 / (8 missed + 4 wrongly) = 0. Car: 8 right of
    12 labelled, 4 missed = 8 / 12. Other classes never seen: null and out of the mean. Pixel accuracy 16 / 28."""
    from training import evaluate_segmenter as evaluate

    for folder in ("val", "valannot"):
        (tmp_path / folder).mkdir()
    truth = [np.array([[0, 0, 3, 3]] * 4, np.uint8), np.array([[11] * 4] + [[8] * 4] * 3, np.uint8)]
    answers = [np.zeros((4, 4), np.uint8), np.array([[8] * 4] * 3 + [[3] * 4], np.uint8)]
    for i, label in enumerate(truth):
        Image.fromarray(np.full((4, 4, 3), 40 * i, np.uint8)).save(tmp_path / "val" / f"f{i}.jpg")
        Image.fromarray(label).save(tmp_path / "valannot" / f"f{i}.png")

    class Stub:
        name, classes = "stub", evaluate.CLASSES

        def __call__(self, image: np.ndarray) -> SimpleNamespace:
            return SimpleNamespace(labels=answers[int(image.mean() > 20)])  # frame 2 is the brighter one

    monkeypatch.setattr(evaluate, "load_segmenter", lambda model, checkpoint: Stub())
    assert evaluate.main(["--data", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    iou = {name: v for name, v in report["IoU"].items() if v is not None}
    assert iou == {"Sky": 0.5, "Road": 0.0, "Car": round(8 / 12, 4)}
    assert report["mIoU"] == round((0.5 + 0 + 8 / 12) / 3, 4)
    assert report["pixel_accuracy"] == round(16 / 28, 4) and report["images"] == 2

import json

import numpy as np
import pytest
import segmenter_data

pytest.importorskip("mmseg")


def test_evaluate_prints_camvid_miou_and_iou_per_class_as_json(tmp_path, capsys) -> None:
    from training import evaluate_segmenter as evaluate

    data = segmenter_data.make(tmp_path / "data")
    assert evaluate.main(["--dataset", "camvid", "--data", str(data), "--split", "val"]) == 0
    report = json.loads(capsys.readouterr().out)
    s = report["sets"]["val"]
    assert report["model"] == "swin-pico-camvid" and s["images"] == 2 and len(s["IoU"]) == 11
    scored = [v for v in s["IoU"].values() if v is not None]
    assert scored and s["mIoU"] == pytest.approx(np.mean(scored), abs=1e-4)  # the mean of what it lists


def test_binary_scores_and_baselines_counted_by_hand() -> None:
    """Two 4x4 images. Image 1: truth the left half; the model says the top half: 4 / 12. Image 2: nothing to find,
    nothing found: 1. Mean 2/3; pooled 4 / 12. The centre box (rows and columns 1-2) against image 1's truth:
    2 / 10."""
    from training.evaluate_segmenter import centre_box, score_binary
    from training.segdata import Item

    left = np.zeros((4, 4), np.uint8)
    left[:, :2] = 1
    top = np.zeros((4, 4), bool)
    top[:2] = True
    items = [Item("a", np.zeros((4, 4, 3), np.uint8), left, "fluorescence"),
             Item("b", np.ones((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8), "stained")]
    answers = {"a": top, "b": np.zeros((4, 4), bool)}
    out = score_binary({"model": lambda item: answers[item.name], "box": lambda item: centre_box(item.image.shape)},
                       items)
    assert out["model"] == {"images": 2, "iou": round(2 / 3, 4), "pooled_iou": round(4 / 12, 4)}
    assert out["box"]["iou"] == round((2 / 10 + 0) / 2, 4)  # image 2: box 4 pixels, truth none: 0
    assert out["by_modality"]["fluorescence"]["model"]["iou"] == round(4 / 12, 4)
    assert out["by_modality"]["stained"]["model"]["iou"] == 1.0


def test_otsu_baseline_polarity_follows_the_modality() -> None:
    from training.evaluate_segmenter import otsu
    from training.segdata import Item

    image = np.full((20, 20), 200, np.uint8)
    image[5:10, 5:10] = 30
    truth = image < 100
    assert np.array_equal(otsu(Item("bf", image, truth, "brightfield"), 0.0), truth)
    assert np.array_equal(otsu(Item("fl", 255 - image, truth, "fluorescence"), 0.0), truth)

"""The salient-object data: pasted samples lay the training subject, where it stands in its own photograph, over a
street scene, and the trainer takes ``--paste`` for ECSSD only."""

import numpy as np
import pytest
import segmenter_data
import torch

pytest.importorskip("mmseg")


@pytest.fixture()
def data(tmp_path):
    return segmenter_data.make(tmp_path / "data")


def test_a_pasted_sample_is_the_subject_over_a_street_scene(data, monkeypatch) -> None:
    from training import ecssd

    assert ecssd.load(data).sample is ecssd.sample  # no pasting unless asked
    dataset = ecssd.load(data, paste=1.0)
    assert len(dataset.sample.scenes) == 4  # the miniature's CamVid train and val frames
    # Without the jitters and flips, a composite can be read back exactly.
    monkeypatch.setattr(ecssd, "colour_jitter", lambda img, rng: img)
    monkeypatch.setattr(ecssd, "flips", lambda img, lab, rng, rotate: (img, lab))
    image = np.zeros((60, 80, 3), np.uint8)  # a black subject in a black photograph
    label = np.zeros((60, 80), np.uint8)
    label[15:45, 20:60] = 1
    img, lab = dataset.sample(image, label, 64, np.random.default_rng(0))
    view_rng = np.random.default_rng(0)
    view_rng.random()
    _, want = ecssd.whole_view(image, label, 64, view_rng, (0.8, 1.0))
    assert torch.equal(lab, want)  # the subject's label, in its own place
    inside = torch.nn.functional.max_pool2d(1 - lab[None, None].float(), 3, 1, 1)[0, 0] == 0
    outside = torch.nn.functional.max_pool2d(lab[None, None].float(), 3, 1, 1)[0, 0] == 0
    assert inside.any() and outside.any()
    assert (img[inside] == 0).all()  # the subject's own pixels
    assert img[outside].mean() > 20  # a scene's, not the black photograph's
    assert img.shape == (64, 64, 3)


def test_paste_is_for_the_salient_model_only(data, tmp_path, capsys) -> None:
    from training import segmenter as train

    with pytest.raises(SystemExit):
        train.main(["--dataset", "nuclei", "--data", str(data), "--work", str(tmp_path / "w"), "--paste", "0.3"])
    assert "it is for --dataset ecssd" in capsys.readouterr().err

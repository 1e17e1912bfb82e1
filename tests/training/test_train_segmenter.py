import json

import pytest

from roicodec.segment import EMBEDDED, load_segmenter
from roicodec.weights import read_meta

pytest.importorskip("mmseg")


def test_training_runs_resumes_and_exports_a_loadable_model(fake_camvid, tmp_path, capsys, keep_torch_threads,
                                                            monkeypatch) -> None:
    from training import segmenter as train

    work = tmp_path / "work"
    out = work / "w.npz"  # stays in the run's folder until training.export
    argv = ["--data", str(fake_camvid), "--name", "w", "--work", str(work), "--batch", "2", "--crop", "32",
            "--warmup", "1", "--eval-every", "2", "--seed", "3", "--threads", "1", "--iters", "4"]
    evaluate, calls = train.evaluate, []

    def stop_at_second_evaluation(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the session ends at iteration 4, before its checkpoint
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(train, "evaluate", stop_at_second_evaluation)
    with pytest.raises(KeyboardInterrupt):
        train.main(argv)
    monkeypatch.setattr(train, "evaluate", evaluate)
    assert train.main(argv) == 0
    assert "resumed at iteration 2" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # another --iters is another schedule: no resume under it
        train.main([*argv[:-1], "6"])
    assert "--iters 4" in capsys.readouterr().err
    log = [json.loads(line) for line in (work / "log.jsonl").read_text().splitlines()]
    assert [entry["iter"] for entry in log] == [2, 4] and set(log[0]["val_iou"]) >= {"Car", "Road"}
    meta = read_meta(out)
    assert meta["recipe"]["seed"] == 3 and meta["recipe"]["data"] == str(fake_camvid)
    assert meta["config"] == "swin-pico_segformerhead_camvid.py" and meta["chosen_at_iter"] in (2, 4)
    load_segmenter.cache_clear()
    try:
        assert load_segmenter(EMBEDDED, str(out)).classes[8] == "Car"
    finally:
        load_segmenter.cache_clear()

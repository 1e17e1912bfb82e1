"""Each segmenter recipe end to end at toy size: train, stop, resume, log every evaluation, report once, export,
card; the weights load through the --roi auto path."""

import json

import numpy as np
import pytest
import segmenter_data

from roicodec.segment import EMBEDDED, NUCLEI, SALIENT, load_segmenter, segment_roi
from roicodec.weights import read, read_meta

pytest.importorskip("mmseg")

TOY = ["--batch", "2", "--crop", "32", "--warmup", "1", "--eval-every", "2", "--seed", "3", "--threads", "1"]


@pytest.fixture()
def data(tmp_path):
    return segmenter_data.make(tmp_path / "data")


@pytest.fixture(autouse=True)
def fresh_segmenters(keep_torch_threads):
    load_segmenter.cache_clear()
    yield
    load_segmenter.cache_clear()


def test_camvid_training_stops_resumes_and_reports_once(data, tmp_path, capsys, monkeypatch) -> None:
    from training import segmenter as train

    work = tmp_path / "work"
    argv = ["--dataset", "camvid", "--data", str(data), "--name", "w", "--work", str(work), *TOY, "--iters", "4"]
    evaluate, calls = train.evaluate, []

    def stop_at_second_evaluation(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the session ends at iteration 4, before its checkpoint
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(train, "evaluate", stop_at_second_evaluation)
    with pytest.raises(KeyboardInterrupt):
        train.main(argv)
    assert not (work / "report.json").exists()  # the report waits for the end of the run
    monkeypatch.setattr(train, "evaluate", evaluate)
    assert train.main(argv) == 0
    assert "resumed at iteration 2" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # another --iters is another schedule: no resume under it
        train.main([*argv[:-1], "6"])
    assert "--iters 4" in capsys.readouterr().err
    log = [json.loads(line) for line in (work / "log.jsonl").read_text().splitlines()]
    assert [entry["iter"] for entry in log] == [2, 4] and set(log[0]["selection"]["iou"]) >= {"Car", "Road"}
    meta = read_meta(work / "w.npz")
    assert meta["recipe"]["seed"] == 3 and meta["recipe"]["data"] == str(data) and meta["recipe"]["init"] is None
    assert meta["recipe"]["split_counts"] == {"train": 2, "selection": 1} and meta["chosen_at_iter"] in (2, 4)
    report = json.loads((work / "report.json").read_text())
    assert report["sets"]["camvid"]["images"] == 1 and report["split"] == "report"
    # Run again once finished: nothing is trained, the report of these weights is not made a second time.
    before = (work / "report.json").stat().st_mtime_ns
    assert train.main(argv) == 0 and (work / "report.json").stat().st_mtime_ns == before
    assert load_segmenter(EMBEDDED, str(work / "w.npz")).classes[8] == "Car"


@pytest.mark.parametrize("dataset, name", [("ecssd", SALIENT), ("nuclei", NUCLEI)])
def test_binary_recipes_report_against_their_baselines_and_make_a_card(dataset, name, data, tmp_path, monkeypatch,
                                                                       capsys) -> None:
    from training import export, segmenter_cards
    from training import segmenter as train

    from roicodec.segment import sources

    work = tmp_path / "work"
    # The salient model runs every image at its square: it trains there too, and another crop is refused.
    square = ["--crop", "256"] if dataset == "ecssd" else []
    if square:
        with pytest.raises(SystemExit):
            train.main(["--dataset", dataset, "--data", str(data), "--work", str(work), *TOY, "--iters", "2"])
        assert "train it with --crop 256" in capsys.readouterr().err
    assert train.main(["--dataset", dataset, "--data", str(data), "--work", str(work), *TOY, *square,
                       "--iters", "2"]) == 0
    out = work / f"{name}.npz"
    meta = read_meta(out)
    assert meta["classes"][1] in ("subject", "nucleus") and meta["recipe"]["dice"] == 1.0
    # The decision threshold was chosen on the selection split, from every one tried, and inference uses it.
    assert meta["threshold"] in train.THRESHOLDS and len(meta["threshold_selection"]) == len(train.THRESHOLDS)
    assert meta["threshold_selection"][f"{meta['threshold']:.2f}"] == max(meta["threshold_selection"].values())
    # So was the mirror: on where it scored better, and the threshold's scores are those of the choice.
    chose = meta["mirror_selection"]
    assert meta["mirror"] == (chose["on"] > chose["off"]) and max(chose.values()) == max(
        meta["threshold_selection"].values())
    # Then the refinement, from none and every GrabCut setting tried, on the same split: the best, ties to none.
    tried = meta["refine_selection"]
    assert [t["refine"] for t in tried] == [None, *train.REFINEMENTS]
    best = max(t["score"] for t in tried)
    assert next(t["refine"] for t in tried if t["score"] == best) == meta["refine"]
    segmenter = load_segmenter(name, str(out))
    assert segmenter.threshold == meta["threshold"] and segmenter.mirror == meta["mirror"]
    assert segmenter.refine == meta["refine"]
    # ECSSD starts from the CamVid model's backbone; nuclei from random weights (its data are CC0, CamVid's are not).
    assert (meta["recipe"]["init"] is not None) == (dataset == "ecssd")
    report = json.loads((work / "report.json").read_text())
    sets = report["sets"]
    if dataset == "ecssd":
        assert set(sets) == {"ecssd"} and set(sets["ecssd"]) == {"model", "centre_box"}
    else:
        assert set(sets) == {"dsb2018", "bbbc039"} and {"otsu", "otsu_blur2"} <= set(sets["bbbc039"])
        assert set(sets["bbbc039"]["by_modality"]) == {"fluorescence"}
    # Export into a stand-in package folder, then the card from the committed copies of log and report.
    package = tmp_path / "package"
    assert export.main([str(out), "--to", str(package)]) == 0
    monkeypatch.setattr(sources, "weights_path", lambda n: package / f"{n}.npz")
    monkeypatch.setattr(segmenter_cards, "weights_path", lambda n: package / f"{n}.npz")
    monkeypatch.setattr(segmenter_cards, "RESULTS", tmp_path / "results")
    assert segmenter_cards.main(["--work", str(work)]) == 0
    card = (package / f"{name}.md").read_text()
    assert (tmp_path / "results" / f"{name}.jsonl").read_text() == (work / "log.jsonl").read_text()
    assert "| **2** |" in card or "| 2 |" in card
    assert f"training/splits/{dataset}.json" in card and "Targets" in card
    load_segmenter.cache_clear()
    image = np.asarray(__import__("PIL.Image").Image.open(next((data / ("ecssd" if dataset == "ecssd" else "bbbc039")
                                                                  / "images").iterdir())))
    _, seg = segment_roi(image)
    assert seg.model == name


def test_a_second_stage_card_names_the_run_it_started_from(data, tmp_path, monkeypatch) -> None:
    from training import export, segmenter_cards
    from training import segmenter as train

    first, second = tmp_path / "first", tmp_path / "second"
    base = ["--dataset", "nuclei", "--data", str(data), *TOY, "--iters", "2"]
    assert train.main([*base, "--work", str(first)]) == 0
    assert train.main([*base, "--work", str(second), "--init", str(first / f"{NUCLEI}.npz")]) == 0
    package, results = tmp_path / "package", tmp_path / "results"
    assert export.main([str(second / f"{NUCLEI}.npz"), "--to", str(package)]) == 0
    monkeypatch.setattr(segmenter_cards, "weights_path", lambda n: package / f"{n}.npz")
    monkeypatch.setattr(segmenter_cards, "RESULTS", results)
    assert segmenter_cards.main(["--work", str(second)]) == 0
    assert (results / f"{NUCLEI}.stage1.jsonl").read_text() == (first / "log.jsonl").read_text()
    assert (results / f"{NUCLEI}.stage1.report.json").read_text() == (first / "report.json").read_text()
    card = (package / f"{NUCLEI}.md").read_text()
    assert f"the weights of stage 1: `python -m training.segmenter {' '.join(base)} --work {first}`" in card
    assert f"python -m training.segmenter_cards --work {second}" in card
    # The card of a run that started from random weights drops the stale stage-1 files.
    assert export.main([str(first / f"{NUCLEI}.npz"), "--to", str(package)]) == 0
    assert segmenter_cards.main(["--work", str(first)]) == 0 and not (results / f"{NUCLEI}.stage1.jsonl").exists()
    assert "stage 1" not in (package / f"{NUCLEI}.md").read_text()


def test_weight_averaging_is_the_mean_of_its_snapshots() -> None:
    import torch
    from training import segmenter as train

    model = torch.nn.Linear(3, 2)
    snapshots, average = [], None
    for k in range(4):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(float(k + 1))
        snapshots.append({n: p.detach().clone() for n, p in model.named_parameters()})
        average = train.accumulate(average, model, k)
    for name in average:
        assert torch.allclose(average[name], torch.stack([s[name] for s in snapshots]).mean(0))
    # The step size holds from averaging's start, and follows the usual schedule before it.
    assert train.lr_at(10, 100, 1.0, 5, hold_from=50) == train.lr_at(10, 100, 1.0, 5)
    assert train.lr_at(90, 100, 1.0, 5, hold_from=50) == train.lr_at(50, 100, 1.0, 5) > train.lr_at(90, 100, 1.0, 5)


def test_an_averaged_run_stops_resumes_and_keeps_the_average(data, tmp_path, monkeypatch) -> None:
    """A run that averages its weights, stopped before its last checkpoint and resumed, ends with the weights of the
    same run made in one go: the running mean is part of the checkpoint."""
    from training import segmenter as train

    base = ["--dataset", "nuclei", "--data", str(data), *TOY, "--iters", "6", "--average-from", "2",
            "--average-every", "1", "--norm-batches", "1"]
    whole, halves = tmp_path / "whole", tmp_path / "halves"
    assert train.main([*base, "--work", str(whole)]) == 0
    evaluate, calls = train.evaluate, []

    def stop_at_fourth_evaluation(*args, **kwargs):  # two a step once averaging runs: the average, the last iterate
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(train, "evaluate", stop_at_fourth_evaluation)
    with pytest.raises(KeyboardInterrupt):
        train.main([*base, "--work", str(halves)])
    monkeypatch.setattr(train, "evaluate", evaluate)
    assert train.main([*base, "--work", str(halves)]) == 0
    log = [json.loads(line) for line in (whole / "log.jsonl").read_text().splitlines()]
    assert [e["averaged"]["snapshots"] for e in log] == [1, 3, 5] and "selection_last_iterate" in log[0]
    _, a = read(whole / f"{NUCLEI}.npz")
    _, b = read(halves / f"{NUCLEI}.npz")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert [e["selection"] for e in log] == [json.loads(line)["selection"]
                                            for line in (halves / "log.jsonl").read_text().splitlines()]
    assert read_meta(whole / f"{NUCLEI}.npz")["averaged"]["from_iter"] == 2


def test_a_folded_run_trains_on_the_selection_keeps_its_last_weights_and_the_decision_given(data, tmp_path,
                                                                                             monkeypatch, capsys) -> None:
    from training import segmenter as train

    work = tmp_path / "work"
    base = ["--dataset", "ecssd", "--data", str(data), "--work", str(work), *TOY, "--crop", "256", "--iters", "4"]
    with pytest.raises(SystemExit):  # nothing is left to choose the decision on: it must be given
        train.main([*base, "--fold-selection"])
    assert "give it --threshold and --mirror" in capsys.readouterr().err
    drawn = []
    sample = train.dataset_module("ecssd").sample

    def record(image, label, crop, rng):
        drawn.append(image.shape)
        return sample(image, label, crop, rng)

    monkeypatch.setattr(train.dataset_module("ecssd"), "sample", record)
    evaluate, scores = train.evaluate, iter([0.9, 0.1])

    def falling(*args, **kwargs):  # the first evaluation scores best: a chosen run would keep iteration 2
        return dict(evaluate(*args, **kwargs), score=next(scores))

    monkeypatch.setattr(train, "evaluate", falling)
    assert train.main([*base, "--fold-selection", "--threshold", "0.65", "--mirror", "on"]) == 0
    meta = read_meta(work / f"{SALIENT}.npz")
    plain = train.dataset_module("ecssd").load(data)
    assert meta["recipe"]["split_counts"]["train"] == len(plain.train) + len(plain.selection)
    assert (256, 256, 3) in drawn  # a squared selection image was drawn for training
    assert meta["chosen_at_iter"] == 4 and meta["recipe"]["fold_selection"]
    assert meta["threshold"] == 0.65 and meta["mirror"] is True and "threshold_selection" not in meta
    assert meta["refine"] is None and "refine_selection" not in meta
    segmenter = load_segmenter(SALIENT, str(work / f"{SALIENT}.npz"))
    assert segmenter.threshold == 0.65 and segmenter.mirror
    assert json.loads((work / "report.json").read_text())["split"] == "report"


def test_a_card_of_a_run_from_the_shipped_weights_keeps_their_files_as_stage_1(data, tmp_path, monkeypatch) -> None:
    """A second stage started from the weights the package ships (their log and report committed) makes those
    files its stage 1, and publishing it again keeps them; a folded run's card says what chose nothing."""
    from training import export, segmenter_cards
    from training import segmenter as train

    work, package, results = tmp_path / "work", tmp_path / "package", tmp_path / "results"
    assert train.main(["--dataset", "ecssd", "--data", str(data), "--work", str(work), *TOY, "--crop", "256",
                       "--iters", "2", "--fold-selection", "--threshold", "0.5", "--mirror", "off"]) == 0
    sha = read_meta(work / f"{SALIENT}.npz")["recipe"]["init"]["sha256"]
    results.mkdir()
    shipped = {".jsonl": '{"iter": 1}\n', ".report.json": json.dumps({"weights_sha256": sha, "command": "first"})}
    for suffix, text in shipped.items():
        (results / f"{SALIENT}{suffix}").write_text(text)
    assert export.main([str(work / f"{SALIENT}.npz"), "--to", str(package)]) == 0
    monkeypatch.setattr(segmenter_cards, "weights_path", lambda n: package / f"{n}.npz")
    monkeypatch.setattr(segmenter_cards, "RESULTS", results)
    for _ in range(2):
        assert segmenter_cards.main(["--work", str(work)]) == 0
        for suffix, text in shipped.items():
            assert (results / f"{SALIENT}.stage1{suffix}").read_text() == text
        assert (results / f"{SALIENT}.jsonl").read_text() == (work / "log.jsonl").read_text()
    card = (package / f"{SALIENT}.md").read_text()
    assert "the weights of stage 1: `first`" in card and "fixed before training" in card
    assert "only the report split is held out" in card and "the last weights were kept" in card


@pytest.mark.parametrize("dataset", ["camvid", "ecssd", "nuclei"])
def test_committed_splits_are_what_the_data_gives_and_never_overlap(dataset) -> None:
    from shared_data import DATA
    from training import splits
    from training.evaluate_segmenter import dataset_module

    committed = json.loads(splits.file_for(dataset).read_text())["splits"]
    assert dataset_module(dataset).splits(DATA) == committed
    names = [n for part in committed.values() for n in part]
    assert len(names) == len(set(names))  # no image in two splits


def test_an_installed_model_gets_its_refinement_without_training_and_a_new_report(data, tmp_path, monkeypatch,
                                                                                 capsys) -> None:
    """training.refine_segmenter: the installed weights copied, the refinement chosen on the selection split, the
    report made for the copy; the package's file is left as it was. Weights without a decision are refused."""
    from segment import toy_weights
    from training import refine_segmenter
    from training import segmenter as train

    from roicodec import digest
    from roicodec.segment import sources
    from roicodec.weights import write

    package, work = tmp_path / "package", tmp_path / "work"
    toy_weights.install(monkeypatch, package, {SALIENT: None})
    installed = package / f"{SALIENT}.npz"
    argv = ["--dataset", "ecssd", "--data", str(data), "--work", str(work)]
    with pytest.raises(SystemExit):
        refine_segmenter.main(argv)
    assert "no decision threshold" in capsys.readouterr().err
    meta, arrays = read(installed)
    write(installed, arrays, dict(meta, threshold=0.5, mirror=False), compressed=True)
    before = digest.sha256(installed)
    results = tmp_path / "results"
    results.mkdir()
    (results / f"{SALIENT}.jsonl").write_text('{"iter": 7}\n')
    monkeypatch.setattr(refine_segmenter, "RESULTS", results)
    assert refine_segmenter.main(argv) == 0
    assert digest.sha256(installed) == before
    refined = read_meta(work / f"{SALIENT}.npz")
    assert [t["refine"] for t in refined["refine_selection"]] == [None, *train.REFINEMENTS]
    report = json.loads((work / "report.json").read_text())
    assert report["weights_sha256"] == digest.sha256(work / f"{SALIENT}.npz").hex()[:16]
    assert report["command"].startswith("python -m training.refine_segmenter") and report.get("refine") == \
        refined["refine"]
    assert (work / "log.jsonl").read_text() == '{"iter": 7}\n'
    assert sources.weights_path(SALIENT) == installed

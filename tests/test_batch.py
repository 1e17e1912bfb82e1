"""Batch encoding on a real two-worker Dask cluster on loopback: same bytes as serial, resumable, failures listed."""

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from roicodec import batch


@pytest.fixture(scope="module")
def folder(tmp_path_factory, astronaut) -> Path:
    root = tmp_path_factory.mktemp("batch")
    (root / "in" / "sub").mkdir(parents=True)
    (root / "masks").mkdir()
    for i in range(5):
        crop = np.ascontiguousarray(astronaut[i * 60:i * 60 + 96, i * 50:i * 50 + 128])
        name = f"sub/img{i}.png" if i == 4 else f"img{i}.png"
        Image.fromarray(crop).save(root / "in" / name)
    mask = np.zeros((96, 128), np.uint8)
    mask[20:70, 30:90] = 255
    Image.fromarray(mask).save(root / "masks" / "img1.png")
    (root / "in" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    return root


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with batch.spawn_environment_kept(), LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                                      host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster) as c:
        yield c


def test_cluster_output_is_byte_identical_to_serial_and_resumes(folder, client) -> None:
    tasks = batch.plan(folder / "in", folder / "out", mask_dir=folder / "masks")
    by_name = {t.source.name: t for t in tasks}
    assert len(tasks) == 6 and by_name["img1.png"].mask == folder / "masks" / "img1.png"
    assert by_name["img0.png"].mask is None
    # The serial reference, in this process at its own thread count; each worker runs one thread (Dask sets
    # OMP_NUM_THREADS=1, which the runtime follows): the bytes must not depend on it.
    for t in tasks:
        batch.encode_one(batch.Task(t.source, folder / "serial" / t.output.relative_to(folder / "out"), t.mask))
    seen = []
    report = batch.encode_many(tasks, client=client, progress=seen.append)
    assert len(seen) == 6
    assert report.count("encoded") == 5 and report.count("failed") == 1
    assert report.failures[0].task.source.name == "broken.png" and report.failures[0].message
    for outcome in report.outcomes:
        if outcome.status == "encoded":
            ref = folder / "serial" / outcome.task.output.relative_to(folder / "out")
            assert outcome.task.output.read_bytes() == ref.read_bytes()
    assert (folder / "out" / "sub" / "img4.roi").exists()

    again = batch.encode_many(tasks, client=client, progress=False)
    assert again.count("skipped") == 5 and again.count("failed") == 1


def test_damaged_or_stale_outputs_are_redone(folder, client) -> None:
    tasks = batch.plan(folder / "in", folder / "redo")
    batch.encode_many(tasks, client=client, progress=False)
    first, second = tasks[1].output, tasks[3].output  # tasks[0] is broken.png
    data = bytearray(first.read_bytes())
    data[-20] ^= 1
    first.write_bytes(bytes(data))
    second.write_bytes(second.read_bytes()[:-50])
    report = batch.encode_many(tasks, client=client, progress=False)
    redone = {o.task.output for o in report.outcomes if o.status == "encoded"}
    assert redone == {first, second}
    assert batch.verified(tasks[1]) and batch.verified(tasks[3])


def test_a_local_cluster_leaves_the_callers_environment_as_it_was(folder, monkeypatch) -> None:
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MALLOC_TRIM_THRESHOLD_"):
        monkeypatch.delenv(name, raising=False)  # what the nannies set (and the module's own cluster left behind)
    before = dict(os.environ)
    report = batch.encode_many(batch.plan(folder / "in", folder / "local"), workers=1, progress=False)
    assert report.count("encoded") == 5
    assert dict(os.environ) == before


def test_plan_refuses_a_missing_folder(tmp_path) -> None:
    with pytest.raises(batch.RoiError, match="not a folder"):
        batch.plan(tmp_path / "nope", tmp_path / "out")


def test_plan_refuses_two_images_that_would_share_an_output(tmp_path) -> None:
    Image.new("L", (8, 8)).save(tmp_path / "a.png")
    Image.new("L", (8, 8)).save(tmp_path / "a.jpg")
    with pytest.raises(batch.RoiError, match="would both be coded to"):
        batch.plan(tmp_path, tmp_path / "out")

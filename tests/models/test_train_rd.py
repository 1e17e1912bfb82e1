import json

import numpy as np
import pytest

from roicodec import weights
from roicodec.models import train_rd
from roicodec.models.base_model import BaseModel


@pytest.fixture()
def keep_torch_threads():
    import torch

    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture()
def tiny_bsds(tmp_path, astronaut):
    from PIL import Image

    for split, count in (("train", 3), ("val", 1), ("test", 2)):
        (tmp_path / "bsds" / split).mkdir(parents=True)
        for i in range(count):
            Image.fromarray(astronaut[i * 40:i * 40 + 160, :192]).save(tmp_path / "bsds" / split / f"{i}.jpg")
    return tmp_path / "bsds"


def test_trains_resumes_and_exports_the_family(tiny_bsds, tmp_path, capsys, keep_torch_threads, astronaut) -> None:
    out, work = tmp_path / "weights", tmp_path / "work"
    out.mkdir()
    argv = ["--data", str(tiny_bsds), "--out", str(out), "--work", str(work), "--batch", "4", "--crop", "64",
            "--channels", "8", "--latent-channels", "6", "--eval-every", "2", "--threads", "1", "--iters", "2"]
    assert train_rd.main(argv) == 0
    log = [json.loads(line) for line in (work / "log.jsonl").read_text().splitlines()]
    assert log[-1]["iter"] == 2 and len(log[-1]["bsds_test"]) == len(train_rd.LAMBDAS)
    with pytest.raises(SystemExit):  # the checkpoint belongs to --iters 2
        train_rd.main([*argv[:-1], "4"])
    assert "--iters 2" in capsys.readouterr().err
    for q, lam in enumerate(train_rd.LAMBDAS, 1):
        meta, arrays = weights.read(out / f"rd-q{q}.npz")
        assert meta["recipe"]["lambda"] == lam and meta["recipe"]["trained_iters"] == 2
        model = BaseModel(meta, arrays)
        latent = model.analyse(astronaut[:64, :96], 1024)
        assert latent.shape == (6, 4, 6)
        assert np.array_equal(model.coder.decode(model.coder.encode(latent), (4, 6)), np.clip(
            latent, [[[o]] for o in model.coder.offsets],
            [[[o + n - 1]] for o, n in zip(model.coder.offsets, model.coder.sizes)]))

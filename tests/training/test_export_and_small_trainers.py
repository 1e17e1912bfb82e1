"""The paper trainer and the preview distiller run end to end and resume; the export step is the only way into the
package, and it refuses what the package could not use."""

import json

import numpy as np
import pytest

from roicodec import weights
from roicodec.models import registry, runtime
from roicodec.models.base_model import BaseModel
from training import base_paper, export, preview


def test_paper_trainer_runs_resumes_and_writes_into_its_work_folder(tiny_bsds, tmp_path, capsys,
                                                                     keep_torch_threads) -> None:
    work = tmp_path / "work"
    argv = ["--data", str(tiny_bsds), "--work", str(work), "--epochs", "1", "--batch", "2", "--threads", "1"]
    base_paper.main(argv)
    base_paper.main(argv)  # resumes: nothing left to train, the weights are written again
    assert "resuming after epoch 1" in capsys.readouterr().out
    log = [json.loads(line) for line in (work / "log.jsonl").read_text().splitlines()]
    assert [entry["epoch"] for entry in log] == [1]
    meta, arrays = weights.read(work / "paper-ae.npz")
    assert meta["architecture"] == "PaperAutoencoder" and meta["recipe"]["epochs"] == 1
    model = BaseModel(meta, arrays)
    latent = model.analyse(np.zeros((32, 48, 3), np.uint8), 64)
    assert latent.shape == (8, 2, 3)
    with pytest.raises(SystemExit):  # another --epochs is another run
        base_paper.main([*argv[:4], "--epochs", "2", "--batch", "2", "--threads", "1"])


def test_preview_distiller_writes_a_head_for_the_installed_base(tiny_bsds, tmp_path, keep_torch_threads) -> None:
    work = tmp_path / "preview"
    preview.main(["--data", str(tiny_bsds), "--model", "paper-ae", "--work", str(work), "--rounds", "1",
                  "--steps", "2", "--threads", "1"])
    meta = weights.read_meta(work / "paper-ae.preview.npz")
    assert meta["base_hash"] == registry.info("paper-ae").hash.hex()
    # It names an installed base, so it may be exported (here into a scratch folder, not the package).
    export.main([str(work / "paper-ae.preview.npz"), "--to", str(tmp_path / "pkg")])
    assert (tmp_path / "pkg" / "paper-ae.preview.npz").read_bytes() == (work / "paper-ae.preview.npz").read_bytes()


def test_export_checks_before_it_copies(tmp_path) -> None:
    shipped = registry.info("paper-ae").path
    (tmp_path / "pkg").mkdir()
    export.main([str(shipped), "--to", str(tmp_path / "pkg")])
    assert (tmp_path / "pkg" / "paper-ae.npz").read_bytes() == shipped.read_bytes()
    assert export.destination("base") == shipped.parent
    stray = weights.write(tmp_path / "x.preview.npz", {"param/w": np.zeros(1, np.float32)},
                          {"name": "x.preview", "base_hash": "00" * 8})
    with pytest.raises(SystemExit, match="not installed"):
        export.main([str(stray), "--to", str(tmp_path / "pkg")])
    other = weights.write(tmp_path / "y.npz", {"a": np.zeros(1)}, {"name": "y"})
    with pytest.raises(SystemExit, match="not a roicodec weight file"):
        export.main([str(other), "--to", str(tmp_path / "pkg")])
    assert sorted(p.name for p in (tmp_path / "pkg").iterdir()) == ["graphs", "paper-ae.npz"]
    # The graphs go with the weights, and are the package's own.
    for graph in (tmp_path / "pkg" / "graphs").iterdir():
        assert graph.read_bytes() == (runtime.GRAPHS / graph.name).read_bytes()
    assert len(list((tmp_path / "pkg" / "graphs").iterdir())) == 2

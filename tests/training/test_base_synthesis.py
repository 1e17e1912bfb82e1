import json

import numpy as np
import pytest

from roicodec import weights
from roicodec.models import registry, store
from roicodec.models.base_model import BaseModel
from training import base_synthesis


def test_a_tuned_synthesis_codes_the_same_bytes_and_decodes_with_its_own_g_s(tiny_bsds, tmp_path, capsys,
                                                                              keep_torch_threads, astronaut) -> None:
    work = tmp_path / "hps"
    argv = ["--data", str(tiny_bsds), "--work", str(work), "--iters", "10", "--batch", "2", "--crop", "64",
            "--eval-every", "5", "--eval-images", "1", "--warmup", "0", "--lr", "1e-3", "--threads", "1"]
    assert base_synthesis.main(argv) == 0
    log = [json.loads(line) for line in (work / "log.jsonl").read_text().splitlines()]
    assert [e["iter"] for e in log] == [0, 5, 10] and len(log[-1]["eval"]) == 5
    for q in range(1, 6):
        path = work / f"hps-q{q}.npz"
        meta, own = weights.read(path)
        source = registry.info(f"hp-q{q}")
        lender = weights.read_meta(source.path)["transforms"]
        assert meta["transforms"] == {**lender, "parts": ["g_a"]}
        assert meta["recipe"]["source"] == f"hp-q{q}" and meta["recipe"]["source_hash"] == source.hash.hex()
        assert not any(k.startswith("param/g_a.") for k in own)
        assert all(own[k].dtype == np.float16 for k in own if k.startswith("param/g_s."))

    # Filled in from the installed lender: hp-q1's analysis and coding, byte for byte, and a synthesis of its own.
    meta, arrays = store.read(work / "hps-q1.npz", registry.WEIGHTS)
    model, source = BaseModel(meta, arrays), registry.load("hp-q1")
    image = astronaut[:64, :96]
    latent = model.analyse(image, 1024)
    assert np.array_equal(latent, source.analyse(image, 1024))
    data, used = model.code(latent)
    assert data == source.code(latent)[0]
    assert np.array_equal(model.uncode(data, 64, 96), used)
    (tile,) = model.tiles(64, 96, 1024)
    assert not np.array_equal(model.synthesise_tile(used, tile), source.synthesise_tile(used, tile))

    # --export-only writes the same weights again, and its recipe names the training command, not the export.
    before = weights.read(work / "hps-q3.npz")
    assert base_synthesis.main([*argv, "--export-only"]) == 0
    after = weights.read(work / "hps-q3.npz")
    assert after[0] == before[0] and all(np.array_equal(after[1][k], v) for k, v in before[1].items())
    assert "--export-only" not in after[0]["recipe"]["command"]


def test_a_file_may_borrow_g_a_alone_and_nothing_but_the_transforms(tmp_path) -> None:
    from roicodec.errors import ModelMismatchError

    lender = registry.info("rd-q2")
    meta, arrays = weights.read(registry.info("hp-q2").path)
    g_s = {k: np.full_like(v, 0.5) for k, v in weights.read(lender.path)[1].items() if k.startswith("param/g_s.")}
    meta = dict(meta, name="own-q2", transforms={**meta["transforms"], "parts": ["g_a"]})
    path = weights.write(tmp_path / "own-q2.npz", {**arrays, **g_s}, meta)
    _, read = store.read(path, registry.WEIGHTS)
    lent = weights.read(lender.path)[1]
    assert all(np.array_equal(read[k], lent[k]) for k in lent if k.startswith("param/g_a."))
    assert all(np.array_equal(read[k], g_s[k]) for k in g_s)

    # What is not borrowed is not lent: without a g_s of its own such a file has none, not the lender's.
    alone = weights.write(tmp_path / "alone-q2.npz", arrays, meta)
    assert not any(k.startswith("param/g_s.") for k in store.read(alone, registry.WEIGHTS)[1])

    bad = weights.write(tmp_path / "bad-q2.npz", arrays, dict(meta, transforms={**meta["transforms"],
                                                                               "parts": ["h_a"]}))
    with pytest.raises(ModelMismatchError, match="only g_a and g_s can be borrowed"):
        store.read(bad, registry.WEIGHTS)


def test_the_hps_cards_are_what_the_committed_files_say() -> None:
    from training import synthesis_cards

    made = synthesis_cards.cards("hps")
    assert [p.name for p in made] == [f"hps-q{q}.md" for q in range(1, 6)]
    for path, text in made.items():
        assert path.read_text() == text, f"{path.name} is stale: python -m training.synthesis_cards"
        assert "not measured yet" not in text and "-49.7 %" in text  # the bench and the refine run are in it


def test_dark_and_permuted_crops_are_drawn_only_when_asked(tiny_bsds, tmp_path, keep_torch_threads,
                                                            monkeypatch) -> None:
    """--dark and --permute go through base_hyper's augmentation and into the recipe; without them no draw is spent
    on it, so the shipped run's crops stay what they were."""
    calls = []
    real = base_synthesis.augment

    def spy(x, rng, dark, permute):
        calls.append((dark, permute))
        return real(x, rng, dark, permute)

    monkeypatch.setattr(base_synthesis, "augment", spy)
    argv = ["--data", str(tiny_bsds), "--iters", "2", "--batch", "2", "--crop", "64", "--eval-every", "2",
            "--eval-images", "1", "--warmup", "0", "--threads", "1", "--rates", "1"]
    assert base_synthesis.main([*argv, "--work", str(tmp_path / "plain")]) == 0
    assert calls == []
    assert base_synthesis.main([*argv, "--work", str(tmp_path / "aug"), "--dark", "0.5", "--permute", "1"]) == 0
    assert calls == [(0.5, 1.0), (0.5, 1.0)]
    recipe = weights.read_meta(tmp_path / "aug" / "hps-q1.npz")["recipe"]
    assert (recipe["dark"], recipe["permute"]) == (0.5, 1.0)

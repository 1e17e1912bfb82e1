"""Refining the base's latent (roicodec.models.refine): a lower rate-distortion cost, an ordinary file, refusals up
front."""

import numpy as np
import pytest
from PIL import Image
from shared_data import DATA

import roicodec
from roicodec.errors import RoiError
from roicodec.models import refine, registry

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    # Not a multiple of 16 on either side: the padding of the last cells must not count.
    return np.asarray(Image.open(DATA / "kodak" / "kodim05.png").convert("RGB"))[100:196, 200:330]


def test_a_tuned_synthesis_refines_for_its_sources_trade_off() -> None:
    # hps-q3 codes hp-q3's latents with hp-q3's tables: the objective those were trained for is hp-q3's.
    assert refine.trade_off(registry.load("hps-q3").meta) == registry.load("hp-q3").meta["recipe"]["lambda"]


def cost(data: bytes, image: np.ndarray, lam: float) -> float:
    """The models' own objective: bits per pixel + lambda x MSE (in 8-bit units squared)."""
    decoded = roicodec.decode(data, 0).astype(np.float64)
    return len(data) * 8 / (image.shape[0] * image.shape[1]) + lam * float(((decoded - image) ** 2).mean())


@pytest.mark.parametrize("model", ["hp-q3", "hps-q3"])
def test_a_refined_base_costs_less_and_is_an_ordinary_file_of_the_model(photo, model) -> None:
    lam = refine.trade_off(registry.load(model).meta)
    plain = roicodec.encode(photo, qualities=(), model=model)
    refined = roicodec.encode(photo, qualities=(), model=model, refine=15)
    assert refined != plain
    assert cost(refined, photo, lam) < cost(plain, photo, lam) - 0.005
    f = roicodec.open(refined)
    assert f.header.model_name == model and f.header.model_hash == roicodec.open(plain).header.model_hash
    # The enhancement layers are measured against the base the decoder makes from the refined latent.
    exact = roicodec.encode(photo, model="hp-q3", ladder=["exact"], refine=3)
    assert np.array_equal(roicodec.decode(exact), photo)


def test_blocks_with_their_context_refine_as_the_whole_latent_does(photo, monkeypatch) -> None:
    model = registry.load("hp-q1")
    latent = model.analyse(photo, 1024)
    whole, z = refine.refine(model, photo, latent, 4, 1024)
    monkeypatch.setattr(refine, "CELLS", 2)  # blocks of 2 x 2 cells: most of every block's input is context
    blocked, z2 = refine.refine(model, photo, latent, 4, 1024)
    assert np.array_equal(z, z2) and not np.array_equal(whole, latent)
    # The same sums in another order: a cell that lies within float rounding of .5 may round the other way.
    assert (blocked == whole).mean() > 0.999


@pytest.mark.parametrize("model, steps, says", [("rd-q1", 5, "has no hyperprior"), ("hp-q1", -1, "0 or more"),
                                                 ("hp-q1", 2.5, "0 or more")])
def test_what_cannot_be_refined_is_refused_in_one_line_before_anything_is_written(photo, tmp_path, model, steps,
                                                                                  says) -> None:
    out = tmp_path / "x.roi"
    with pytest.raises(RoiError, match=says) as info:
        roicodec.encode(photo, path=out, qualities=(), model=model, refine=steps)
    assert "\n" not in str(info.value) and not out.exists()


def test_the_picture_term_sees_the_rounded_latent_unless_told_otherwise(photo) -> None:
    model = registry.load("hp-q3")
    latent = model.analyse(photo, 1024)
    rounded, z = refine.refine(model, photo, latent, 4, 1024)
    noisy, z2 = refine.refine(model, photo, latent, 4, 1024, picture="noisy")
    assert np.array_equal(z, z2) and not np.array_equal(rounded, noisy)
    # The first step is the setting's own: a zero step leaves g_a's latent as it was.
    still, _ = refine.refine(model, photo, latent, 4, 1024, first_step=0.0)
    assert np.array_equal(still, latent)
    with pytest.raises(ValueError, match="rounded"):
        refine.refine(model, photo, latent, 1, 1024, picture="soft")

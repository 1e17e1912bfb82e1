import numpy as np
import pytest
import torch

import roicodec
from roicodec import metrics, weights
from roicodec.models import registry
from roicodec.models.density import FactorizedDensity
from roicodec.models.factorized import FactorizedAutoencoder
from roicodec.models.layers import GDN
from training.base_rd import LAMBDAS, GainedFamily

FAMILY = [f"rd-q{q}" for q in range(1, len(LAMBDAS) + 1)]


def test_gdn_matches_its_formula_at_initialisation() -> None:
    # beta = 1 and gamma = 0.1 I at start: GDN is x / sqrt(1 + 0.1 x^2) per channel, and IGDN multiplies instead.
    x = torch.randn(2, 4, 5, 5)
    expected = torch.sqrt(1 + 0.1 * x**2)
    assert torch.allclose(GDN(4)(x), x / expected, atol=1e-6)
    assert torch.allclose(GDN(4, inverse=True)(x), x * expected, atol=1e-6)


def test_gdn_parameters_stay_non_negative_after_a_step_that_pushes_them_below_zero() -> None:
    torch.manual_seed(0)
    gdn = GDN(3)
    opt = torch.optim.SGD(gdn.parameters(), lr=100.0)
    (-gdn(torch.randn(1, 3, 4, 4)).abs().sum()).backward()  # a larger output wants smaller beta and gamma
    opt.step()
    assert (gdn.beta < 0).all() and (gdn.gamma < 0).all()  # the raw square roots went far below their bounds
    # So beta sits at beta_min and gamma at 0: GDN divides by sqrt(beta_min) alone, whatever the raw values.
    x = torch.randn(1, 3, 4, 4)
    out = gdn(x)
    assert torch.allclose(out, x / gdn.beta_min**0.5, rtol=1e-5)
    # And the bound does not freeze them: a loss that wants them larger still reaches them.
    gdn.zero_grad()
    out.abs().sum().backward()
    assert (gdn.beta.grad < 0).all() and (gdn.gamma.grad < 0).all()


def test_density_is_a_distribution_and_its_tables_are_integers() -> None:
    torch.manual_seed(0)
    density = FactorizedDensity(3)
    values = torch.arange(-300, 301, dtype=torch.float32).view(1, 1, 1, -1).expand(1, 3, 1, -1).contiguous()
    mass = density.likelihood(values).sum(dim=(0, 2, 3))
    assert torch.allclose(mass, torch.ones(3), atol=1e-3)
    offsets, freqs = density.tables()
    assert offsets.dtype == np.int32 and len(freqs) == 3
    assert all(f.dtype == np.uint32 and f.min() >= 1 and abs(int(f.sum()) - 2**16) < len(f) for f in freqs)


def test_export_folds_the_gains_into_a_plain_model() -> None:
    torch.manual_seed(0)
    family = GainedFamily(8, 6, LAMBDAS).eval()
    with torch.no_grad():
        family.log_gain.uniform_(-1, 1)
        family.log_inv_gain.uniform_(-1, 1)
    x = torch.rand(1, 3, 64, 64)
    for rate in range(len(LAMBDAS)):
        net = family.export(rate)
        assert isinstance(net, FactorizedAutoencoder)
        with torch.no_grad():
            expected, _ = family(x, torch.tensor([rate]), noise=False)
            y = torch.round(net.g_a(x))
            assert torch.equal(y, torch.round(family.net.g_a(x) * family.log_gain[rate].exp()[:, None, None]))
            assert torch.allclose(net.g_s(y), expected, atol=1e-5)


SAMPLE_CROP = {"rd-q1": (858, 27.870), "rd-q2": (1234, 29.315), "rd-q3": (1678, 30.470), "rd-q4": (2206, 31.523),
               "rd-q5": (2810, 32.332)}
"""Bytes and PSNR (dB) of each member's base-only file of the astronaut crop below, as the shipped weights give them.
Another CPU may round a latent value differently here and there, hence the small tolerances; a broken transform,
entropy table or rate gain moves them far more."""


@pytest.mark.parametrize("name", FAMILY)
def test_shipped_family_member_codes_an_image(name: str, astronaut: np.ndarray) -> None:
    info = registry.info(name)
    assert info.path.with_suffix(".md").exists(), f"{name} has no model card"
    rgb = astronaut[:200, :232]
    data = roicodec.encode(rgb, qualities=(), model=name)
    with roicodec.open(data) as f:
        assert f.model[0] == name
        base = f.decode(0)
    assert base.shape == rgb.shape and base.dtype == np.uint8
    size, score = SAMPLE_CROP[name]
    assert len(data) == pytest.approx(size, rel=0.02)
    assert metrics.psnr(rgb, base) == pytest.approx(score, abs=0.05)
    assert roicodec.encode(rgb, qualities=(), model=name) == data


def test_family_is_a_rate_ladder(astronaut: np.ndarray) -> None:
    rgb = astronaut[:256, :256]
    sizes, psnrs = [], []
    for name in FAMILY:
        data = roicodec.encode(rgb, qualities=(), model=name)
        sizes.append(len(data))
        psnrs.append(metrics.psnr(rgb, roicodec.decode(data, 0)))
    assert sizes == sorted(sizes) and psnrs == sorted(psnrs)


@pytest.mark.parametrize("name", FAMILY)
def test_coding_tables_ship_as_integers(name: str) -> None:
    # The range coder's probabilities come from these counts alone, so every machine decodes the same symbols.
    meta, arrays = weights.read(registry.info(name).path)
    tables = {k: v for k, v in arrays.items() if not k.startswith("param/")}
    assert set(tables) == {"offsets", *(f"freq/{c}" for c in range(meta["latent_channels"]))}
    assert all(np.issubdtype(v.dtype, np.integer) for v in tables.values())
    assert meta["architecture"] == "FactorizedAutoencoder" and meta["recipe"]["lambda"] == LAMBDAS[int(name[-1]) - 1]

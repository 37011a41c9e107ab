"""Known answers for `genlab reproduce divergence-fit`: the quadrature, the direct fits and the f-GAN fits."""

from __future__ import annotations

import csv
import math

import pytest
import torch

from genlab.cli import main
from genlab.divergences import divergence
from genlab.errors import ConfigError
from genlab.reproduce.divergence_fit import (PAPER_MIXTURE, PUBLISHED, TOLERANCE, Mixture, Training, direct_fit,
                                             fgan_fit, quadrature_divergence)


def _gauss_kl(m1, s1, m2, s2):
    """KL(N(m1, s1^2) || N(m2, s2^2))."""
    return math.log(s2 / s1) + (s1 ** 2 + (m1 - m2) ** 2) / (2 * s2 ** 2) - 0.5


def test_quadrature_matches_the_closed_form_kl_between_gaussians():
    p = Mixture((1.0,), (0.3,), (0.8,))
    mu, sigma = torch.tensor(1.1, dtype=torch.float64), torch.tensor(1.6, dtype=torch.float64)
    kl = quadrature_divergence(divergence("kl"), p, mu, sigma).item()
    rkl = quadrature_divergence(divergence("reverse-kl"), p, mu, sigma).item()
    assert kl == pytest.approx(_gauss_kl(0.3, 0.8, 1.1, 1.6), abs=1e-7)
    assert rkl == pytest.approx(_gauss_kl(1.1, 1.6, 0.3, 0.8), abs=1e-7)


@pytest.mark.parametrize("mixture", [PAPER_MIXTURE, Mixture((0.2, 0.5, 0.3), (-3.0, 0.0, 4.0), (0.5, 1.0, 0.7))])
def test_direct_kl_fit_is_moment_matching(mixture):
    fit = direct_fit("kl", mixture)
    assert fit.mu == pytest.approx(mixture.mean, abs=1e-4)
    assert fit.sigma == pytest.approx(mixture.std, abs=1e-4)


def test_reverse_kl_sits_on_one_component_when_well_separated():
    mixture = Mixture((0.4, 0.6), (-4.0, 4.0), (0.5, 0.5))
    fit = direct_fit("reverse-kl", mixture)
    # on the heavier component, with its width: KL(Q || P) = log(1 / 0.6) there, up to the other's tail
    assert fit.mu == pytest.approx(4.0, abs=1e-3) and fit.sigma == pytest.approx(0.5, abs=1e-3)
    assert fit.value == pytest.approx(math.log(1 / 0.6), abs=1e-6)
    kl = direct_fit("kl", mixture)  # the forward KL covers both: far from either component
    assert abs(kl.mu - 0.8) < 1e-4 and kl.sigma > 3.9


def test_direct_fits_reproduce_the_papers_best_fits():
    for name, (d, _, mu, _, sigma, _) in PUBLISHED.items():
        fit = direct_fit(name, PAPER_MIXTURE)
        assert fit.mu == pytest.approx(mu, abs=1e-3), name
        assert fit.sigma == pytest.approx(sigma, abs=1e-3), name
        assert fit.value == pytest.approx(d, abs=1e-3), name


@pytest.mark.parametrize("text", ["", "0.5:1", "a:b:c", "0.5:0:1,0.6:1:1", "1:0:-1"])
def test_bad_mixtures_are_a_clear_error(text):
    with pytest.raises(ConfigError, match="mixture|weight"):
        Mixture.parse(text)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["kl", "reverse-kl", "pearson"])
def test_fgan_fit_lands_near_the_direct_fit(name):
    """The quick preset's length, 3 seeds: the mean f-GAN fit is within TOLERANCE of the best fit."""
    best = direct_fit(name, PAPER_MIXTURE)
    fits = [fgan_fit(name, PAPER_MIXTURE, seed, Training(1000), eval_n=20_000) for seed in range(3)]
    mu = sum(f["mu"] for f in fits) / 3
    sigma = sum(f["sigma"] for f in fits) / 3
    assert abs(mu - best.mu) < TOLERANCE and abs(sigma - best.sigma) < TOLERANCE
    assert all(f["bound"] < best.value + 4 * f["bound_se"] + 0.02 for f in fits)  # a lower bound, up to noise


def test_reproduce_divergence_fit_at_toy_length(tmp_path, capsys):
    out = tmp_path / "df"
    code = main(["reproduce", "divergence-fit", "--divergences", "kl,reverse-kl", "--steps", "5", "--seeds", "2",
                 "--jobs", "1", "--out", str(out)])
    assert code == 0
    md = (out / "table.md").read_text()
    assert "| kl | 0.2830 | 0.2831 | 1.0100 | 1.0100 |" in md  # genlab's best fit beside the paper's
    assert "## Checks" in md and "moment match" in md
    assert (out / "divergence_fit.png").stat().st_size > 0 and (out / "report.html").exists()
    rows = list(csv.DictReader(open(out / "table.csv")))
    assert [r["divergence"] for r in rows] == ["kl", "reverse-kl"] and all(r["seeds"] == "2" for r in rows)
    capsys.readouterr()
    assert main(["reproduce", "divergence-fit", "--divergences", "kl,nosuch", "--out", str(out)]) == 2
    assert "nosuch" in capsys.readouterr().err


def test_the_table_is_one_compare_table_printed_as_two_parts():
    from pathlib import Path
    from types import SimpleNamespace

    from genlab.compare import Estimate, Table
    from genlab.reproduce.divergence_fit import PRESETS, table

    def row(name, mu, seeds):
        return {"divergence": name, "D_direct": 0.25, "mu_direct": mu, "sigma_direct": 1.6, "seeds": seeds,
             "diverged": 2 - seeds, "bound_fgan": 0.2, "bound_fgan_se": 0.01, "mu_fgan": mu + 0.05, "mu_fgan_se": 0.02,
             "sigma_fgan": 1.62, "sigma_fgan_se": 0.03, "D_at_fgan": 0.26 if seeds else math.nan}

    rows = [row("kl", PAPER_MIXTURE.mean, 2), row("reverse-kl", 1.6, 2), row("gan", 1.3, 0)]
    rows[0].update(zip(("D_paper", "F_paper", "mu_paper", "mu_hat_paper", "sigma_paper", "sigma_hat_paper"),
                       PUBLISHED["kl"]))
    rows[0]["sigma_direct"] = PAPER_MIXTURE.std
    t = table(rows, PAPER_MIXTURE, SimpleNamespace(preset="quick"), PRESETS["quick"], 2, 5, 0.5, Path("fit.png"))
    assert isinstance(t, Table) and t.rows[0][7] == Estimate(0.2, 0.01) and t.rows[2][7] is None  # all diverged
    md = t.markdown()
    assert "## Best fit theta* (direct minimization)" in md and "## Learned theta-hat (f-GAN)" in md
    assert "| kl | 0.2500 | 0.2831 | 1.0100 | 1.0100 |" in md  # genlab's best fit beside the paper's
    assert "| gan | - | - | - | - | - | - | - | 0 | 2 |" in md and "gan: the same minimizer as js" in md
    assert "## Checks" in md and "- [x] the direct KL fit is the moment match" in md
    assert "- [ ] gan: every f-GAN run diverged" in md
    header = t.csv().splitlines()[0].split(",")
    assert header[:2] == ["divergence", "D_direct"] and {"mu_fgan", "mu_fgan_se", "D_paper", "seeds"} <= set(header)

"""Known answers behind `genlab explain`: each teaching figure's claim, checked where it is exact."""

from __future__ import annotations

import math

import pytest
import torch

from genlab.cli import main
from genlab.explain import gan_1d, gradients, importance, iwae_bound, one_thread
from genlab.explain.linear_gaussian import LinearGaussian

MODEL, X = LinearGaussian.example_point(0)


def test_the_exact_posterior_as_proposal_gives_log_p_x_with_every_draw():
    """With q = p(z | x) every importance weight equals p(x): log_joint, posterior and log_marginal agree."""
    m, S = MODEL.posterior(X)
    z = torch.distributions.MultivariateNormal(m, S).sample((100,))
    lw = MODEL.log_joint(X, z) - torch.distributions.MultivariateNormal(m, S).log_prob(z)
    assert torch.allclose(lw, torch.full_like(lw, MODEL.log_marginal(X)), atol=1e-9)


def test_closed_form_elbo_and_its_gap():
    mu, log_std = MODEL.mean_field(X)
    lw = MODEL.log_weights(X, mu + 0.3, log_std, (200_000,), torch.Generator().manual_seed(0))
    elbo = MODEL.elbo(X, mu + 0.3, log_std).item()
    assert lw.mean().item() == pytest.approx(elbo, abs=4 * lw.std().item() / math.sqrt(len(lw)))
    # log p(x) - ELBO = KL(q || p(z | x)) for the best diagonal q
    m, S = MODEL.posterior(X)
    q = torch.distributions.MultivariateNormal(mu, torch.diag(torch.exp(2 * log_std)))
    kl = torch.distributions.kl_divergence(q, torch.distributions.MultivariateNormal(m, S)).item()
    assert MODEL.log_marginal(X) - MODEL.elbo(X, mu, log_std).item() == pytest.approx(kl, abs=1e-10)


def test_importance_sampling_converges_and_the_encoder_has_far_less_spread():
    r = importance.estimates(MODEL, X, ks=(1, 64, 4096), repeats=40)
    for name in ("prior", "encoder q"):
        assert r[name][-1][0] == pytest.approx(r["exact"], abs=0.05)  # both converge to log p(x)
        assert r[name][0][0] < r["exact"] + 0.05  # from below, in the mean (Jensen)
    for (_, s_prior), (_, s_q) in zip(r["prior"], r["encoder q"]):
        assert s_q < s_prior / 10


def test_the_iwae_bound_rises_with_k_from_the_elbo_to_log_p_x():
    ks = (1, 4, 64, 1024)
    r = iwae_bound.bounds(MODEL, X, ks=ks, repeats=200)
    for e in r["encoders"].values():
        (l1, se1), *_, (lk, sek) = e["bounds"]
        assert l1 == pytest.approx(e["elbo"], abs=4 * se1)  # L_1 is the ELBO
        assert all(b[0] > a[0] - 3 * (a[1] + b[1]) for a, b in zip(e["bounds"], e["bounds"][1:]))  # non-decreasing
        assert all(m < r["exact"] + 3 * se for m, se in e["bounds"])  # a lower bound
        assert lk == pytest.approx(r["exact"], abs=0.02)
    poorer = list(r["encoders"].values())[1]
    assert r["exact"] - poorer["elbo"] > 1.0  # the poorer encoder's gap is real, and K closes it


def test_gradient_estimators_are_unbiased_and_ordered_by_variance():
    model, x, mu, log_std = gradients.setting(0)
    exact = gradients.exact_gradient(model, x, mu, log_std)
    gen = torch.Generator().manual_seed(0)
    for k in (2, 16):
        est = gradients.gradient_estimates(model, x, mu, log_std, k, 4000, gen)
        for name, g in est.items():
            se = g.std(0) / math.sqrt(len(g))
            assert ((g.mean(0) - exact).abs() < 4 * se + 1e-9).all(), (name, k)
        var = {name: g.var(0).sum().item() for name, g in est.items()}
        assert var["reparameterized"] < var["score function + baseline"] / 5 < var["score function"] / 5


def test_a_trained_discriminator_is_p_data_over_p_data_plus_p_g():
    """Proposition 1 of the GAN paper: against a fixed generator, D tends to D* = p_data / (p_data + p_g)."""
    game = gan_1d.Game(seed=0)
    with one_thread():
        for _ in range(200):
            game.d_step()
    s = game.snapshot(0, torch.linspace(-3, 5, 200))
    summary = gan_1d.summary(s)
    assert summary["mean |D - D*|"] < 0.03 and summary["mean |D - 1/2|"] > 0.3


@pytest.mark.slow
def test_gan_1d_ends_at_one_half_where_the_densities_meet():
    first, *_, last = [gan_1d.summary(s) for s in gan_1d.train(seed=0)]
    assert first["mean |D - 1/2|"] > 0.3 and last["mean |D - 1/2|"] < 0.05
    assert last["b"] == pytest.approx(gan_1d.DATA[0], abs=0.1) and last["a"] == pytest.approx(gan_1d.DATA[1], abs=0.05)


def test_explain_through_the_cli(tmp_path, capsys):
    assert main(["explain", "iwae-bound", "--out", str(tmp_path), "--repeats", "20"]) == 0
    out = capsys.readouterr().out
    assert "exact log p(x)" in out and "K = 4096" in out
    assert (tmp_path / "iwae-bound.png").stat().st_size > 0
    assert main(["explain", "divergences", "--out", str(tmp_path), "--mixture", "1:0"]) == 2
    assert "weight:mean:std" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["explain", "gradients", "--repeats", "1"])
    assert "at least 2" in capsys.readouterr().err

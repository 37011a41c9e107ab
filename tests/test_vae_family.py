"""Known-answer tests for the VAE family's shared maths: bounds from log importance weights, the analytic
KL, the NLL estimator on a model with a closed-form likelihood (probabilistic PCA), the DReG gradient,
annealing and learning-rate schedules, presets."""

from __future__ import annotations

import math

import pytest
import torch

import genlab.models  # noqa: F401
from genlab.api import make_configs
from genlab.data.base import Batch, DataInfo
from genlab.models.base import Step
from genlab.errors import ConfigError
from genlab.losses import (bernoulli_log_prob, diag_gaussian_log_density, elbo_bound, gaussian_kl_std_normal,
                           iwae_bound, renyi_bound, std_normal_log_density)
from genlab.metrics.importance import importance_terms, log_weights_all
from genlab.models.beta_vae import kl_weight
from genlab.models.iwae import IWAE, IWAEConfig
from genlab.models.vae import VAE, VAEConfig
from genlab.trainer import lr_factor

IMG = DataInfo("toy", "image", (1, 8, 8), 3, "01", False)


def toy_images(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 1, 8, 8, generator=g) < 0.3).float()


def small(cls, cfg_cls, **kw):
    torch.manual_seed(0)
    return cls(cfg_cls(latent_dim=4, hidden=(32,), **kw), IMG)


# ----------------------------------------------------------------------------------------------------
# bounds


def test_bounds_agree_at_k1_and_renyi_interpolates():
    lw = torch.randn(7, 1) * 3
    torch.testing.assert_close(iwae_bound(lw), elbo_bound(lw))
    lw = torch.randn(7, 20) * 3
    torch.testing.assert_close(renyi_bound(lw, 0.0), iwae_bound(lw))
    torch.testing.assert_close(renyi_bound(lw, 1.0), elbo_bound(lw))
    torch.testing.assert_close(renyi_bound(lw, 1.0 - 1e-4), elbo_bound(lw), rtol=1e-3, atol=1e-2)
    # the Renyi bound does not increase with alpha, and the IWAE bound is at least the ELBO
    values = [renyi_bound(lw, a) for a in (-1.0, 0.0, 0.5, 0.99, 2.0)]
    for hi, lo in zip(values, values[1:]):
        assert (hi >= lo - 1e-5).all()
    assert (iwae_bound(lw) >= elbo_bound(lw)).all()


def test_bernoulli_log_prob_is_the_bernoulli_density_with_one_x_for_k_samples_or_one_each():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 7, 1, 4, 3, generator=g) * 4  # (B, K, C, H, W)
    x = torch.rand(5, 1, 1, 4, 3, generator=g)  # one x per row, in [0, 1], shared by the K samples
    # x log p + (1 - x) log (1 - p), summed over the event, in double precision
    p = torch.sigmoid(logits.double())
    expected = (x * p.log() + (1 - x) * (1 - p).log()).sum((-3, -2, -1))
    torch.testing.assert_close(bernoulli_log_prob(x, logits, 3).double(), expected, rtol=1e-5, atol=1e-4)
    # the same numbers when x is given once per sample (the elementwise path)
    torch.testing.assert_close(bernoulli_log_prob(x.expand_as(logits).clone(), logits, 3),
                               bernoulli_log_prob(x, logits, 3), rtol=1e-5, atol=1e-4)
    # and the gradient through the shared path is the elementwise one
    a, b = logits.clone().requires_grad_(), logits.clone().requires_grad_()
    bernoulli_log_prob(x, a, 3).sum().backward()
    bernoulli_log_prob(x.expand_as(logits).clone(), b, 3).sum().backward()
    torch.testing.assert_close(a.grad, b.grad)


def test_iwae_with_k1_and_the_same_noise_is_the_vae_elbo():
    x = toy_images()
    vae = small(VAE, VAEConfig, k=1, kl="mc")
    iwae = small(IWAE, IWAEConfig, k=1)
    iwae.load_state_dict(vae.state_dict())
    torch.manual_seed(3)
    a = vae.loss("vae", Batch(x, None), Step())["loss"]
    torch.manual_seed(3)
    b = iwae.loss("vae", Batch(x, None), Step())["loss"]
    assert torch.equal(a, b)
    # and the ELBO is the K=1 case of the shared log weights
    lw = vae.log_weights(x, 1, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(iwae_bound(lw), elbo_bound(lw))


def test_iwae_bound_does_not_decrease_with_k():
    x = toy_images(16)
    model = small(VAE, VAEConfig).eval()
    means = {}
    for k in (1, 5, 50):
        vals = [iwae_bound(model.log_weights(x, k, generator=torch.Generator().manual_seed(s))).mean()
                for s in range(20)]
        means[k] = torch.stack(vals).mean().item()
    assert means[1] < means[5] < means[50], means
    # the ELBO estimate does not depend on K in expectation (within noise)
    e1 = torch.stack([elbo_bound(model.log_weights(x, 50, generator=torch.Generator().manual_seed(s))).mean()
                      for s in range(5)]).mean().item()
    assert abs(e1 - means[1]) < 0.5


def test_analytic_kl_equals_a_monte_carlo_estimate():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(4, 3, generator=g)
    logvar = torch.randn(4, 3, generator=g) * 0.5
    z = mu.unsqueeze(1) + torch.randn(4, 200_000, 3, generator=g) * torch.exp(0.5 * logvar).unsqueeze(1)
    mc = (diag_gaussian_log_density(z, mu.unsqueeze(1), logvar.unsqueeze(1)) - std_normal_log_density(z)).mean(1)
    exact = gaussian_kl_std_normal(mu, logvar)
    torch.testing.assert_close(mc, exact, rtol=0.02, atol=0.01)


# ----------------------------------------------------------------------------------------------------
# the NLL estimator on probabilistic PCA, where log p(x) is known in closed form


def ppca_model(W: torch.Tensor, b: torch.Tensor, sigma: float, q_shift: float, q_scale: float) -> VAE:
    """A linear-Gaussian VAE: p(z) = N(0, I), p(x|z) = N(Wz + b, sigma^2 I), and q(z|x) = the exact
    posterior's mean shifted by `q_shift` with its marginal variances scaled by `q_scale`."""
    d, z = W.shape
    info = DataInfo("ppca", "points", (d,), 0, "01", False)
    model = VAE(VAEConfig(latent_dim=z, net="mlp", hidden=(), likelihood="gaussian", sigma=sigma, kl="mc"), info)
    post_cov = torch.linalg.inv(torch.eye(z) + W.T @ W / sigma**2)  # (Z, Z)
    A = post_cov @ W.T / sigma**2  # posterior mean = A (x - b)
    enc = model.encoder.net[0]
    dec = model.decoder.net[0]
    with torch.no_grad():
        enc.weight.zero_()
        enc.bias.zero_()
        enc.weight[:z] = A
        enc.bias[:z] = -A @ b + q_shift
        enc.bias[z:] = torch.log(torch.diagonal(post_cov) * q_scale)
        dec.weight.copy_(W)
        dec.bias.copy_(b)
    return model.eval()


def test_nll_estimator_matches_the_closed_form_on_probabilistic_pca():
    g = torch.Generator().manual_seed(0)
    d, z, sigma = 6, 2, 0.5
    W = torch.randn(d, z, generator=g)
    b = torch.randn(d, generator=g) * 0.3
    model = ppca_model(W, b, sigma, q_shift=0.15, q_scale=1.6)
    cov = W @ W.T + sigma**2 * torch.eye(d)
    x = torch.distributions.MultivariateNormal(b, cov).sample((40,))
    exact = torch.distributions.MultivariateNormal(b, cov).log_prob(x)  # (N,)
    lw = log_weights_all(model, x, None, 5000, 1, rows=4000)
    est = iwae_bound(lw)
    gap = (exact - est).abs()
    assert gap.max() < 0.05, gap.max()
    # the one-sample ELBO is clearly below: the test can tell a good estimator from a poor one
    assert (exact - elbo_bound(lw)).mean() > 0.05


def test_the_elbo_metrics_kl_term_matches_the_analytic_kl_and_the_terms_make_the_weights():
    model = small(VAE, VAEConfig).eval()
    x = toy_images(6)
    t = importance_terms(model, x, None, 4000, 3, rows=1000)  # (6, 4000) each
    with torch.no_grad():
        mu, logvar = model.encode(x)
        exact = gaussian_kl_std_normal(mu, logvar)  # (6,)
    torch.testing.assert_close(t.kl.double().mean(1), exact.double(), rtol=0.05, atol=0.02)
    lw = log_weights_all(model, x, None, 4000, 3, rows=1000)
    torch.testing.assert_close(t.lw, lw, rtol=0, atol=0)  # the same noise gives bitwise the same weights


def test_dreg_encoder_gradient_vanishes_at_the_exact_posterior():
    g = torch.Generator().manual_seed(2)
    d, z, sigma = 5, 2, 0.7
    q, _ = torch.linalg.qr(torch.randn(d, z, generator=g))
    W = q * torch.tensor([2.0, 1.0])  # orthogonal columns: the exact posterior is diagonal
    b = torch.zeros(d)
    base = ppca_model(W, b, sigma, q_shift=0.0, q_scale=1.0)
    x = torch.randn(16, d, generator=g) * 2
    for estimator, vanishes in (("dreg", True), ("reparam", False)):
        model = IWAE(IWAEConfig(latent_dim=z, net="mlp", hidden=(), likelihood="gaussian", sigma=sigma, k=8,
                                estimator=estimator), base.info)
        model.load_state_dict(base.state_dict())
        model.zero_grad()
        torch.manual_seed(0)
        model.loss("vae", Batch(x, None), Step())["loss"].backward()
        enc_grad = model.encoder.net[0].weight.grad.abs().max().item()
        if vanishes:
            assert enc_grad < 1e-4, enc_grad
        else:
            assert enc_grad > 1e-3, enc_grad  # the score term's noise remains in the plain estimator


def test_dreg_and_reparam_give_the_same_decoder_gradient():
    x = toy_images()
    grads = {}
    for est in ("reparam", "dreg"):
        m = small(IWAE, IWAEConfig, k=5, estimator=est)
        torch.manual_seed(4)
        m.loss("vae", Batch(x, None), Step())["loss"].backward()
        grads[est] = m.decoder.net[-2].weight.grad.clone()
    torch.testing.assert_close(grads["dreg"], grads["reparam"], rtol=1e-4, atol=1e-6)


# ----------------------------------------------------------------------------------------------------
# schedules and presets


def test_kl_annealing_schedules():
    assert kl_weight("none", 2.0, 0, 100) == 2.0
    assert kl_weight("linear", 2.0, 0, 100, warmup=0.5) == 0.0
    assert kl_weight("linear", 2.0, 25, 100, warmup=0.5) == pytest.approx(1.0)
    assert kl_weight("linear", 2.0, 80, 100, warmup=0.5) == 2.0
    # 4 cycles of 25 steps, rising over the first half of each
    assert [kl_weight("cyclical", 1.0, s, 100, cycles=4, ratio=0.5) for s in (0, 6, 12, 13, 24, 25, 31)] == \
        pytest.approx([0.0, 0.48, 0.96, 1.0, 1.0, 0.0, 0.48])


def test_iwae_learning_rate_schedule_is_the_papers_at_3280_epochs():
    total = 3280  # one step per epoch: the stage boundaries fall on the paper's epochs 1, 4, 13, 40 ...
    stage_of = lambda s: round(-7 * math.log10(lr_factor("iwae", s, total)))  # noqa: E731
    assert [stage_of(s) for s in (0, 1, 3, 4, 12, 13, 39, 40, 1092, 1093, 3279)] == [0, 1, 1, 2, 2, 3, 3, 4, 6, 7, 7]
    assert lr_factor("constant", 5, 10) == 1.0


def test_iwae_paper_preset_and_unknown_presets():
    cfgs = make_configs("iwae", "digits", {"preset": "iwae-paper-2", "k": "50"})
    m, t, d = cfgs["model"], cfgs["train"], cfgs["data"]
    assert (m.layers, m.hidden, m.latent_dim, m.hidden2, m.latent2_dim, m.act) == (2, (200, 200), 100, (100, 100), 50, "tanh")
    assert (m.k, m.adam_eps, t.batch_size, t.epochs, t.lr_schedule, d.binarize) == (50, 1e-4, 20, 3280, "iwae", "dynamic")
    with pytest.raises(ConfigError, match="no preset 'nope'.*iwae-paper"):
        make_configs("iwae", "digits", {"preset": "nope"})
    with pytest.raises(ConfigError, match="layers"):
        make_configs("iwae", "digits", {"estimator": "dreg", "layers": "2"})


def test_two_stochastic_layers_and_the_conditional_vae():
    x = toy_images(8)
    m = small(IWAE, IWAEConfig, layers=2, latent2_dim=3, hidden2=(16,))
    lw = m.log_weights(x, 6, generator=torch.Generator().manual_seed(0))
    assert lw.shape == (8, 6) and torch.isfinite(lw).all()
    assert set(m.posterior_mean(x)) == {"z1", "z2"}
    from genlab.models.cvae import CVAE

    torch.manual_seed(0)
    c = CVAE(VAEConfig(latent_dim=4, hidden=(32,)), IMG)
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    assert torch.isfinite(c.loss("vae", Batch(x, y), Step())["loss"])
    gen = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    # the label changes the samples; the same label and noise give the same samples
    a = c.sample(4, gen(), y=torch.zeros(4, dtype=torch.long))
    b = c.sample(4, gen(), y=torch.full((4,), 2))
    assert not torch.equal(a, b)
    assert torch.equal(a, c.sample(4, gen(), y=torch.zeros(4, dtype=torch.long)))
    with pytest.raises(ConfigError, match="labels"):
        CVAE(VAEConfig(), DataInfo("x", "image", (1, 8, 8), 0, "01", False))

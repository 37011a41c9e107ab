"""Known answers for the hybrids of VAEs and GANs (vaegan, aae, bigan, alphagan) and CycleGAN: what each
discriminator sees, the priors, the composition of the losses, the two-domain data, the reconstruction and
cycle metrics, and the pictures of a trained run."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import genlab.data  # noqa: F401  (registration)
import genlab.models  # noqa: F401  (registration)
from genlab.cli import main
from genlab.config import DataConfig
from genlab.data.base import Batch, DataInfo, load_data
from genlab.models.base import Step
from genlab.errors import ConfigError
from genlab.metrics.base import EvalConfig, EvalContext, NotApplicable
from genlab.losses import gan_discriminator_loss
from genlab.metrics.reconstruction import cycle, reconstruction
from genlab.models.aae import AAE, AAEConfig, mixture_means
from genlab.models.alphagan import AlphaGAN, AlphaGANConfig
from genlab.models.bigan import BiGAN, BiGANConfig
from genlab.models.cyclegan import CycleGAN, CycleGANConfig
from genlab.models.gan import GAN, GANConfig
from genlab.models.vaegan import VAEGAN, VAEGANConfig
from genlab.nets import reparameterize

IMG8 = DataInfo("toy-8", "image", (1, 8, 8), 10, "pm1", False)
PAIRED8 = DataInfo("toy-pair", "image", (1, 8, 8), 10, "pm1", False, domains=2)
SMALL = {"hidden": (16, 16), "latent_dim": 3}


def images(n: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# ----------------------------------------------------------------------------------------------------
# BiGAN


def test_bigan_discriminator_reads_the_joint_pair():
    torch.manual_seed(0)
    model = BiGAN(BiGANConfig(**SMALL), IMG8)
    x, z = images(), torch.randn(8, 3)
    d = model.D(x, z)
    assert d.shape == (8,)
    assert not torch.allclose(d, model.D(x, z + 1.0)), "D ignores z"
    assert not torch.allclose(d, model.D(images(seed=1), z)), "D ignores x"


def test_bigan_losses_are_the_gan_loss_on_pairs_with_the_labels_swapped_for_e_and_g():
    torch.manual_seed(0)
    model = BiGAN(BiGANConfig(**SMALL), IMG8).eval()
    x = images()
    torch.manual_seed(3)
    z = model.prior(8)
    enc, gen = model.D(x, model.encoder(x)), model.D(model.decoder(z), z)
    for player, expected in (("disc", gan_discriminator_loss(enc, gen)), ("gen", gan_discriminator_loss(gen, enc))):
        torch.manual_seed(3)  # the same z inside loss()
        torch.testing.assert_close(model.loss(player, Batch(x, None), Step())["loss"], expected)


def test_bigan_gaussian_posterior_is_alis_reparameterized_encoder():
    torch.manual_seed(0)
    model = BiGAN(BiGANConfig(posterior="gaussian", **SMALL), IMG8).eval()
    x = images()
    mu, logvar = model.encode(x)
    assert mu.shape == logvar.shape == (8, 3)
    assert not torch.equal(model.code(x), model.code(x))  # a fresh draw each time
    torch.testing.assert_close(model.reconstruct(x), model.decoder(mu))


# ----------------------------------------------------------------------------------------------------
# AAE


@pytest.mark.parametrize("dim", [2, 8])
def test_aae_mixture_prior_draws_each_component_equally_with_its_mean_and_std(dim):
    cfg = AAEConfig(prior="mog", latent_dim=dim, hidden=(16,), code_hidden=(16,), mog_radius=4.0, mog_std=0.5)
    model = AAE(cfg, DataInfo("p", "points", (2,), 0, "01", False))
    means = model.means
    assert means.shape == (10, dim)
    torch.testing.assert_close(means.norm(dim=1), torch.full((10,), 4.0))
    assert torch.cdist(means, means).add(torch.eye(10) * 99).min() > 2.0  # distinct components
    n = 40000
    z = model.prior(n, generator=torch.Generator().manual_seed(0))
    nearest = torch.cdist(z, means).argmin(1)
    counts = torch.bincount(nearest, minlength=10).float() / n
    torch.testing.assert_close(counts, torch.full((10,), 0.1), atol=0.01, rtol=0)
    for k in range(10):
        zk = z[nearest == k]
        torch.testing.assert_close(zk.mean(0), means[k], atol=0.05, rtol=0)
        assert 0.45 < zk.std(0).mean() < 0.55
    g = model.prior(5, generator=torch.Generator().manual_seed(1))
    assert torch.equal(g, model.prior(5, generator=torch.Generator().manual_seed(1)))


def test_mixture_means_lie_on_a_circle_in_2d_and_on_the_axes_otherwise():
    m2 = mixture_means(4, 2, 1.0)
    torch.testing.assert_close(m2, torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]), atol=1e-6,
                               rtol=0)
    m3 = mixture_means(5, 3, 2.0)
    expected = torch.tensor([[2.0, 0, 0], [0, 2.0, 0], [0, 0, 2.0], [-2.0, 0, 0], [0, -2.0, 0]])
    assert torch.equal(m3, expected)
    with pytest.raises(ConfigError, match="mog_components"):
        AAEConfig(prior="mog", latent_dim=3, mog_components=7)


def test_aae_samples_decode_prior_draws_and_the_discriminator_sees_codes():
    torch.manual_seed(0)
    model = AAE(AAEConfig(prior="mog", mog_components=6, **SMALL), IMG8).eval()
    z = model.prior(6, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(model.sample(6, generator=torch.Generator().manual_seed(2)), model.decoder(z))
    x = images()
    out = model.loss("reconstruction", Batch(x, None), Step())
    rec = (x - model.decoder(model.encoder(x))).pow(2).mean()
    torch.testing.assert_close(out["loss"], 10.0 * rec)
    step = Step()  # the regularization phase: C on prior draws against the codes, then the encoder fools C
    torch.manual_seed(5)
    prior = model.C(model.prior(8))
    codes = model.C(model.encoder(x))
    torch.manual_seed(5)
    torch.testing.assert_close(model.loss("disc", Batch(x, None), step)["loss"], gan_discriminator_loss(prior, codes))
    torch.testing.assert_close(model.loss("regularization", Batch(x, None), step)["loss"],
                               F.softplus(-codes).mean())


def test_aae_has_the_papers_two_phases():
    model = AAE(AAEConfig(**SMALL), IMG8)
    phases = model.phases()
    assert [(p.name, p.players, p.data) for p in phases] == [
        ("reconstruction", ("encoder", "decoder"), True), ("disc", ("disc",), False),
        ("regularization", ("encoder",), False)]


# ----------------------------------------------------------------------------------------------------
# alpha-GAN


def test_alphagan_loss_is_lambda_times_l1_plus_the_adversarial_terms():
    torch.manual_seed(0)
    model = AlphaGAN(AlphaGANConfig(rec_weight=7.0, **SMALL), IMG8)
    x = images()
    enc = model.loss("encoder", Batch(x, None), Step())
    l1 = (x - model.decoder(model.encoder(x))).abs().mean()
    torch.testing.assert_close(enc["rec_l1"], l1.detach())
    torch.testing.assert_close(enc["loss"], 7.0 * enc["rec_l1"] + enc["enc_adv"])
    gen = model.loss("generator", Batch(x, None), Step())
    torch.testing.assert_close(gen["loss"], 7.0 * l1.detach() + gen["gen_adv"])


@pytest.mark.parametrize("rec_weight", [0.0, 10.0])
def test_alphagan_lambda_zero_removes_the_reconstruction_gradient(rec_weight):
    """With a constant code discriminator the encoder's only gradient is the reconstruction term's."""
    torch.manual_seed(0)
    model = AlphaGAN(AlphaGANConfig(rec_weight=rec_weight, **SMALL), IMG8)
    last = [m for m in model.code_discriminator.modules() if isinstance(m, nn.Linear)][-1]
    nn.init.zeros_(last.weight)  # C(z) = its bias, whatever z
    model.loss("encoder", Batch(images(), None), Step())["loss"].backward()
    norm = sum(p.grad.abs().sum() for p in model.encoder.parameters())
    assert (norm == 0) == (rec_weight == 0)


def test_alphagan_players_and_phase_order_follow_algorithm_1():
    model = AlphaGAN(AlphaGANConfig(**SMALL), IMG8)
    assert [p.name for p in model.phases()] == ["encoder", "generator", "disc", "code_disc"]
    assert [p.data for p in model.phases()] == [True, False, False, False]  # one minibatch per iteration
    players = model.players()
    assert players["encoder"].modules == [model.encoder] and players["generator"].modules == [model.decoder]


def test_alphagan_ratio_loss_is_minus_the_logit():
    model = AlphaGAN(AlphaGANConfig(gen_loss="ratio", **SMALL), IMG8)
    logits = torch.tensor([-2.0, 0.0, 3.0])
    torch.testing.assert_close(model.adversarial(logits), -logits.mean())
    d = torch.sigmoid(logits)  # -log(d / (1 - d)) = -logit
    torch.testing.assert_close(model.adversarial(logits), -(d / (1 - d)).log().mean())


# ----------------------------------------------------------------------------------------------------
# VAE-GAN


def test_vaegan_feature_reconstruction_is_zero_for_a_perfect_reconstruction_and_uses_dis_l():
    torch.manual_seed(0)
    model = VAEGAN(VAEGANConfig(sigma=0.5, **SMALL), IMG8)
    x, x_tilde = images(), images(seed=1)
    assert torch.equal(model.llike(x, x), torch.zeros(8))
    f, f_tilde = model.discriminator.trunk(x), model.discriminator.trunk(x_tilde)
    torch.testing.assert_close(model.llike(x, x_tilde), 0.5 * ((f - f_tilde) / 0.5).pow(2).sum(1))
    before = model.llike(x, x_tilde)
    with torch.no_grad():
        model.discriminator.head.weight.mul_(3.0)  # the logit layer is not part of Dis_l
    torch.testing.assert_close(model.llike(x, x_tilde), before)


def test_vaegan_pixel_reconstruction_is_the_element_wise_gaussian():
    model = VAEGAN(VAEGANConfig(rec="pixels", pixel_sigma=0.2, **SMALL), IMG8)
    x, x_tilde = images(), images(seed=1)
    torch.testing.assert_close(model.llike(x, x_tilde), 0.5 * ((x - x_tilde) / 0.2).pow(2).flatten(1).sum(1))


def test_vaegan_losses_combine_the_terms_as_algorithm_1():
    torch.manual_seed(0)
    model = VAEGAN(VAEGANConfig(gamma=2.0, **SMALL), IMG8)
    x = images()
    enc = model.loss("encoder", Batch(x, None), Step())
    torch.testing.assert_close(enc["loss"], enc["kl"] + enc["llike"])
    torch.manual_seed(4)
    mu, logvar = model.encode(x)
    x_tilde = model.decoder(reparameterize(mu, logvar))
    x_p = model.decoder(model.prior(8))
    real, rec, prior = (model.discriminator(v).logits for v in (x, x_tilde, x_p))
    decoder = 2.0 * model.llike(x, x_tilde).mean() + F.softplus(-rec).mean() + F.softplus(-prior).mean()
    disc = F.softplus(-real).mean() + F.softplus(rec).mean() + F.softplus(prior).mean()
    for player, expected in (("decoder", decoder), ("disc", disc)):
        torch.manual_seed(4)  # the same noise inside loss()
        torch.testing.assert_close(model.loss(player, Batch(x, None), Step())["loss"], expected)


# ----------------------------------------------------------------------------------------------------
# CycleGAN


class Ones(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ones(x.shape[0], 1)


def test_cyclegan_losses_vanish_for_identity_generators_and_fooled_discriminators():
    model = CycleGAN(CycleGANConfig(hidden=(16,), width=4, blocks=1, identity_weight=0.5), PAIRED8)
    model.G, model.F = nn.Identity(), nn.Identity()
    model.D_A, model.D_B = Ones(), Ones()
    a, b = images(), images(seed=1)
    out = model.loss("gen", Batch(a, None, b), Step())
    assert out["cycle"] == 0 and out["identity"] == 0 and out["gan"] == 0 and out["loss"] == 0
    errors = model.cycle(a, b)
    assert torch.equal(errors["a"], torch.zeros(8)) and torch.equal(errors["b"], torch.zeros(8))
    # the discriminators' loss with D = 1 everywhere: 1/2 (0 + 1) per domain
    torch.testing.assert_close(model.loss("disc", Batch(a, None, b), Step())["loss"], torch.tensor(1.0))


def test_cyclegan_cycle_loss_is_lambda_times_both_l1_cycles():
    torch.manual_seed(0)
    model = CycleGAN(CycleGANConfig(hidden=(16,), width=4, blocks=1, cycle_weight=3.0), PAIRED8)
    a, b = images(), images(seed=1)
    out = model.loss("gen", Batch(a, None, b), Step())
    expected = (model.F(model.G(a)) - a).abs().mean() + (model.G(model.F(b)) - b).abs().mean()
    torch.testing.assert_close(out["cycle"], expected.detach())
    torch.testing.assert_close(out["loss"], out["gan"] + 3.0 * out["cycle"])
    errors = model.cycle(a, b)
    torch.testing.assert_close(errors["a"].mean() + errors["b"].mean(), expected.detach())


def test_cyclegan_samples_translate_the_domain_a_images_it_was_trained_on():
    torch.manual_seed(0)
    model = CycleGAN(CycleGANConfig(hidden=(16,), width=4, blocks=1, bank=10), PAIRED8)
    a = images(12)
    model.loss("gen", Batch(a[:6], None, images(6, seed=1)), Step())
    model.loss("disc", Batch(a[:6], None, images(6, seed=1)), Step())  # the same batch again: not remembered twice
    model.loss("gen", Batch(a[6:], None, images(6, seed=2)), Step())
    assert int(model.bank_filled) == 10 and torch.equal(model.bank_a, a[:10])
    model.eval()
    s = model.sample(20, generator=torch.Generator().manual_seed(0))
    translations = model.G(a[:10])
    assert all(any(torch.allclose(x, t, atol=1e-5) for t in translations) for x in s)


def test_one_and_two_domain_models_refuse_the_other_kind_of_data():
    with pytest.raises(ConfigError, match="two-domain dataset such as digits-inverted"):
        CycleGAN(CycleGANConfig(), IMG8)
    with pytest.raises(ConfigError, match="holds two"):
        GAN(GANConfig(), PAIRED8)


# ----------------------------------------------------------------------------------------------------
# two-domain data


def test_digits_inverted_holds_the_inverted_digits_unpaired():
    data = load_data(DataConfig(dataset="digits-inverted"), preferred_range="pm1")
    plain = load_data(DataConfig(dataset="digits"), preferred_range="pm1")
    assert data.info.domains == 2 and plain.info.domains == 1
    assert torch.equal(data.x, plain.x) and data.x_b.shape == data.x.shape
    a = {tuple(r) for r in (1 - plain.x).flatten(1).mul(16).round().int().tolist()}
    b = [tuple(r) for r in data.x_b.flatten(1).mul(16).round().int().tolist()]
    assert all(r in a for r in b)  # every B image is the inversion of a digit ...
    paired = (data.x_b - (1 - data.x)).flatten(1).abs().amax(1) < 1e-6
    assert paired.float().mean() < 0.05  # ... but not of the digit at the same index
    batch = data.batch(torch.arange(4))
    assert batch.x_b.shape == (4, 1, 8, 8) and batch.x_b.min() >= -1 and batch.x_b.max() <= 1  # model space
    sub = load_data(DataConfig(dataset="digits-inverted", subset=100), preferred_range="pm1")
    assert sub.x_b.shape == (100, 1, 8, 8)


# ----------------------------------------------------------------------------------------------------
# metrics and pictures of trained runs


def _train(tmp_path, model: str, dataset: str, *extra: str):
    out = tmp_path / model
    code = main(["train", model, "--dataset", dataset, "--out", str(out), "--steps", "3", "batch_size=32", *extra])
    assert code == 0
    return out


def _ctx(path, n: int = 50) -> EvalContext:
    return EvalContext(path, EvalConfig(n_data=n))


@pytest.mark.slow
def test_reconstruction_metric_agrees_with_a_direct_computation_and_is_zero_for_the_identity(tmp_path):
    path = _train(tmp_path, "aae", "digits", "hidden=16", "latent_dim=2")
    ctx = _ctx(path)
    out = reconstruction(ctx)
    x = ctx.data("test").batch(torch.arange(50)).x  # model space
    model = ctx.model
    diff = model.info.to_data_space(model.reconstruct(x)) - model.info.to_data_space(x)
    assert out["mse"] == pytest.approx(diff.pow(2).mean().item(), rel=1e-5)
    assert out["l1"] == pytest.approx(diff.abs().mean().item(), rel=1e-5)
    assert 0 < out["mse_se"] < out["mse"] and out["settings"]["n_images"] == 50
    model.reconstruct = lambda x, y=None: x  # the context keeps this model
    identity = reconstruction(ctx)
    assert identity["mse"] == 0 and identity["l1"] == 0


@pytest.mark.slow
def test_reconstruction_and_cycle_metrics_say_where_they_do_not_apply(tmp_path):
    path = _train(tmp_path, "gan", "digits", "hidden=16,16", "noise_dim=4")
    with pytest.raises(NotApplicable, match="needs a model with an encoder and a decoder.*'gan' has none.*"
                                           "alphagan.*vae.*cannot reconstruct"):
        reconstruction(_ctx(path))
    with pytest.raises(NotApplicable, match="translation model.*cyclegan"):
        cycle(_ctx(path))


@pytest.mark.slow
def test_cycle_metric_on_a_trained_cyclegan(tmp_path):
    path = _train(tmp_path, "cyclegan", "digits-inverted", "width=8", "blocks=1")
    ctx = _ctx(path, n=40)
    out = cycle(ctx)
    batch = ctx.data("test").batch(torch.arange(40))
    errors = ctx.model.cycle(batch.x, batch.x_b)
    assert out["cycle_a"] == pytest.approx(errors["a"].mean().item(), rel=1e-5)
    assert out["cycle_b"] == pytest.approx(errors["b"].mean().item(), rel=1e-5)
    assert (path / "samples" / "translations.png").stat().st_size > 0
    code = main(["evaluate", str(path), "--metrics", "cycle", "--n-data", "40"])
    assert code == 0 and "cycle" in json.loads((path / "evaluation.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("model", ["vaegan", "aae", "bigan", "alphagan"])
def test_pictures_of_the_autoencoding_gans(tmp_path, model):
    path = _train(tmp_path, model, "digits", "hidden=16,16", "latent_dim=2")
    for name in ("final", "reconstructions", "interpolations", "latent", "manifold"):
        assert (path / "samples" / f"{name}.png").stat().st_size > 0, name
    x = load_data(DataConfig(dataset="digits", split="test"), preferred_range="pm1").x[:4] * 2 - 1
    from genlab.api import load_trained

    _, _, net = load_trained(path)
    mu, logvar = net.encode(x)
    assert mu.shape == logvar.shape == (4, 2) and torch.isfinite(logvar).all()
    assert net.reconstruct(x).shape == x.shape
    assert torch.isfinite(net.decode_mean(mu)).all()

"""Known answers for the GAN family: the WGAN-GP penalty, unrolling with K = 0, weight clipping, the DCGAN
architecture rules, conditioning in the cGAN and the f-GAN's table of divergences."""

from __future__ import annotations

import dataclasses
import typing

import pytest
import torch
from torch import nn

import genlab.models  # noqa: F401  (registration)
from genlab.data.base import Batch, DataInfo
from genlab.models.base import Step
from genlab.divergences import NAMES
from genlab.errors import ConfigError
from genlab.losses import gan_discriminator_loss, gan_generator_loss
from genlab.models.cgan import CGAN
from genlab.models.dcgan import DCGAN, DCGANConfig
from genlab.models.fgan import FGAN, FGANConfig
from genlab.models.gan import GAN, GANConfig
from genlab.models.unrolled import UnrolledConfig, UnrolledGAN
from genlab.models.wgan import WGAN, WGANConfig
from genlab.models.wgan_gp import WGANGP, WGANGPConfig, gradient_penalty, interpolates

POINTS = DataInfo("toy-points", "points", (2,), 3, "01", False)


def image_info(side: int, channels: int = 1) -> DataInfo:
    return DataInfo(f"toy-{side}", "image", (channels, side, side), 10, "pm1", False)


# ----------------------------------------------------------------------------------------------------
# WGAN-GP


def test_gradient_penalty_is_zero_for_a_unit_norm_linear_critic_and_one_for_norm_two():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(3 * 4 * 4, generator=g, dtype=torch.float64)
    w = w / w.norm()
    x = torch.randn(32, 3, 4, 4, generator=g, dtype=torch.float64)
    unit = gradient_penalty(lambda h: h.flatten(1) @ w + 0.7, x)
    double = gradient_penalty(lambda h: h.flatten(1) @ (2 * w), x)
    assert abs(unit.item()) < 1e-20
    assert double.item() == pytest.approx(1.0, abs=1e-12)


def test_gradient_penalty_is_differentiable_in_the_critic_weights():
    critic = nn.Linear(5, 1, bias=False)
    x = torch.randn(8, 5)
    (grad,) = torch.autograd.grad(gradient_penalty(critic, x), critic.weight)
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    w = critic.weight.detach()
    torch.testing.assert_close(grad, 2 * (w.norm() - 1) * w / w.norm())


def test_interpolation_coefficients_are_drawn_per_sample_not_per_pixel():
    g = torch.Generator().manual_seed(1)
    real = torch.randn(16, 3, 8, 8, generator=g, dtype=torch.float64)
    fake = torch.randn(16, 3, 8, 8, generator=g, dtype=torch.float64)
    x = interpolates(real, fake, generator=torch.Generator().manual_seed(2))
    eps = (x - fake) / (real - fake)  # (B, C, H, W): one value per sample if drawn per sample
    per_sample = eps.flatten(1)
    torch.testing.assert_close(per_sample, per_sample[:, :1].expand_as(per_sample))
    assert ((per_sample[:, 0] > 0) & (per_sample[:, 0] < 1)).all()
    assert per_sample[:, 0].unique().numel() == 16  # and a different one for each sample
    points = interpolates(torch.zeros(6, 2), torch.ones(6, 2), generator=torch.Generator().manual_seed(0))
    assert torch.equal(points[:, 0], points[:, 1])  # (B, 1) for vectors


def test_wgan_gp_critic_has_no_batch_norm_and_its_loss_includes_the_penalty():
    model = WGANGP(WGANGPConfig(width=8), image_info(28))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.discriminator.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.generator.modules())
    torch.manual_seed(0)
    out = model.loss("disc", Batch(torch.rand(4, 1, 28, 28) * 2 - 1, None), Step())
    torch.testing.assert_close(out["loss"].detach(), -out["wasserstein"] + 10.0 * out["penalty"])
    assert out["penalty"] > 0


def test_wgan_gp_critic_layer_norm_is_per_sample_and_optional():
    model = WGANGP(WGANGPConfig(width=8, critic_norm="layer"), image_info(28))  # training mode: BN would mix examples
    assert any(isinstance(m, nn.GroupNorm) and m.num_groups == 1 for m in model.discriminator.modules())
    x = torch.rand(5, 1, 28, 28) * 2 - 1
    with torch.no_grad():  # an example's score does not depend on the rest of its batch (the penalty needs that)
        torch.testing.assert_close(model.D(x)[:2], model.D(x[:2]))
        torch.testing.assert_close(model.D(x)[:2], model.D(torch.cat([x[:2], -x[2:]]))[:2])
    plain = WGANGP(WGANGPConfig(width=8), image_info(28))  # the default: no normalization
    assert not any(isinstance(m, nn.GroupNorm) for m in plain.discriminator.modules())


# ----------------------------------------------------------------------------------------------------
# WGAN


def test_wgan_critic_weights_are_clipped_when_built_and_after_each_critic_update():
    model = WGAN(WGANConfig(hidden=(32, 32), clip=0.05, init="torch"), POINTS)
    assert all(p.abs().max() <= 0.05 for p in model.discriminator.parameters())
    assert any(p.abs().max() == 0.05 for p in model.discriminator.parameters())  # torch's init is wider
    with torch.no_grad():
        for p in model.discriminator.parameters():
            p.mul_(3.0)
    model.after_update("gen", Step())  # the generator's update leaves the critic alone
    assert max(p.abs().max() for p in model.discriminator.parameters()) > 0.05
    model.after_update("disc", Step())
    assert all(p.abs().max() <= 0.05 for p in model.discriminator.parameters())
    assert [m.bias for m in model.discriminator.modules() if isinstance(m, nn.Linear)][-1] is None


# ----------------------------------------------------------------------------------------------------
# unrolled GAN


def generator_grads(model: GAN, batch: Batch, seed: int) -> list[torch.Tensor]:
    model.zero_grad(set_to_none=True)
    torch.manual_seed(seed)
    loss = model.loss("gen", batch, Step())["loss"]
    loss.backward(inputs=list(model.generator.parameters()))  # as the trainer differentiates G's phase
    assert all(p.grad is None for p in model.discriminator.parameters())
    return [p.grad.clone() for p in model.generator.parameters()]


@pytest.mark.parametrize("info", [POINTS, image_info(28)], ids=["mlp", "conv"])
def test_unrolling_zero_steps_is_the_plain_gan_update_and_more_steps_are_not(info):
    base = dict(hidden=(16, 16), width=8, noise_dim=4)
    torch.manual_seed(0)
    gan = GAN(GANConfig(**base), info)
    unrolled = {k: UnrolledGAN(UnrolledConfig(**base, unroll_steps=k, unroll_lr=0.5), info) for k in (0, 2)}
    for m in unrolled.values():
        m.load_state_dict(gan.state_dict())
    x = torch.randn(16, *info.shape)
    batch = Batch(x if info.kind == "points" else x.tanh(), None)
    plain = generator_grads(gan, batch, seed=5)
    k0 = generator_grads(unrolled[0], batch, seed=5)
    d_state = {k: v.clone() for k, v in unrolled[2].discriminator.state_dict().items()}
    k2 = generator_grads(unrolled[2], batch, seed=5)
    for a, b in zip(plain, k0):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-9)
    assert max((a - b).abs().max() for a, b in zip(plain, k2)) > 1e-4
    # unrolling leaves D's weights and batch-norm statistics alone
    for name, t in unrolled[2].discriminator.state_dict().items():
        assert torch.equal(t, d_state[name]), name


def test_unrolled_steps_equal_equation_5_written_out():
    """Two unrolled SGD steps on D's copies (one pass over real and generated points together, as an MLP D
    allows) give G the loss of f(theta_G, theta_D^2) computed step by step with separate passes."""
    torch.manual_seed(0)
    model = UnrolledGAN(UnrolledConfig(hidden=(16, 16), noise_dim=4, unroll_steps=2, unroll_lr=0.3), POINTS)
    batch = Batch(torch.randn(16, 2), None)
    torch.manual_seed(5)
    out = model.loss("gen", batch, Step())["loss"]
    torch.manual_seed(5)
    fake = model.fake(16)
    from torch.func import functional_call

    w = {n: p.detach().requires_grad_(True) for n, p in model.discriminator.named_parameters()}
    D = lambda x, w: functional_call(model.discriminator, w, (x,)).squeeze(-1)  # noqa: E731
    for _ in range(2):
        d_loss = gan_discriminator_loss(D(batch.x, w), D(fake, w))
        g = torch.autograd.grad(d_loss, list(w.values()), create_graph=True)
        w = {n: p - 0.3 * gi for (n, p), gi in zip(w.items(), g)}
    torch.testing.assert_close(out, gan_generator_loss(D(fake, w)), rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------------------------------
# DCGAN networks


@pytest.mark.parametrize("side,stages", [(28, 2), (32, 3)])
def test_dcgan_networks_follow_the_papers_rules(side, stages):
    model = DCGAN(DCGANConfig(), image_info(side, channels=3 if side == 32 else 1))
    g, d = model.generator, model.discriminator
    pooling = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
    assert not any(isinstance(m, pooling) for m in model.modules())
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    upconvs = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert len(convs) == len(upconvs) == stages
    assert all(m.stride == (2, 2) for m in convs + upconvs)  # strided / fractional-strided
    # one linear map each: G's projection of z, D's output; no hidden fully connected layers
    assert len([m for m in g.modules() if isinstance(m, nn.Linear)]) == 1
    assert len([m for m in d.modules() if isinstance(m, nn.Linear)]) == 1
    assert isinstance(list(g.modules())[-1], nn.Tanh)
    assert {type(m) for m in g.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU))} == {nn.ReLU}
    assert {type(m) for m in d.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU))} == {nn.LeakyReLU}
    # batch norm everywhere except D's input layer and G's output layer
    assert len([m for m in d.modules() if isinstance(m, nn.BatchNorm2d)]) == stages - 1
    assert len([m for m in g.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]) == stages
    # N(0, 0.02) weights
    w = torch.cat([m.weight.flatten() for m in convs + upconvs])
    assert w.std().item() == pytest.approx(0.02, rel=0.05)
    z = torch.randn(4, model.cfg.noise_dim)
    assert g(z).shape == (4, *model.info.shape)
    assert model.D(g(z)).shape == (4,)


def test_dcgan_uses_convolutions_for_small_images_too_and_gan_can_choose_them():
    assert DCGAN(DCGANConfig(width=8), image_info(8)).net_kind() == "conv"
    assert GAN(GANConfig(), image_info(8)).net_kind() == "mlp"
    assert GAN(GANConfig(net="conv", width=8), image_info(8)).net_kind() == "conv"
    with pytest.raises(ConfigError, match="net=conv needs image data"):
        GAN(GANConfig(net="conv"), POINTS)


# ----------------------------------------------------------------------------------------------------
# cGAN


@pytest.mark.parametrize("info,net", [(POINTS, "auto"), (image_info(28), "auto"), (image_info(8), "auto")],
                         ids=["points", "conv28", "mlp8"])
def test_cgan_players_see_the_label(info, net):
    torch.manual_seed(0)
    model = CGAN(GANConfig(hidden=(16, 16), width=8, noise_dim=4, net=net), info).eval()
    x = torch.rand(6, *info.shape)
    y0, y1 = torch.zeros(6, dtype=torch.long), torch.ones(6, dtype=torch.long)
    assert not torch.allclose(model.D(x, y0), model.D(x, y1))
    g = torch.Generator().manual_seed(3)
    a = model.sample(6, generator=g, y=y0)
    b = model.sample(6, generator=torch.Generator().manual_seed(3), y=y1)
    assert a.shape == (6, *info.shape) and not torch.allclose(a, b)


def test_cgan_needs_labels():
    with pytest.raises(ConfigError, match="class labels"):
        CGAN(GANConfig(), DataInfo("unlabelled", "points", (2,), 0, "01", False))


# ----------------------------------------------------------------------------------------------------
# f-GAN


def test_fgan_offers_every_row_of_the_table():
    hints = typing.get_type_hints(FGANConfig)
    assert typing.get_args(hints["divergence"]) == NAMES
    for name in NAMES:
        model = FGAN(FGANConfig(divergence=name, hidden=(8,), alpha=2.0 if name == "alpha" else 0.5), POINTS)
        torch.manual_seed(0)
        for player in ("disc", "gen"):
            out = model.loss(player, Batch(torch.randn(16, 2), None), Step())
            assert torch.isfinite(out["loss"]), (name, player)


@pytest.mark.parametrize("kwargs,field", [(dict(alpha=1.0), "alpha"), (dict(alpha=0.0), "alpha"),
                                          (dict(pi=1.0), "pi"), (dict(pi=0.0), "pi")])
def test_fgan_config_rejects_undefined_parameters(kwargs, field):
    with pytest.raises(ConfigError, match=f"'{field}'"):
        FGANConfig(**kwargs)


def test_fgan_critic_loss_is_minus_the_bound_and_the_generator_descends_it():
    torch.manual_seed(0)
    model = FGAN(FGANConfig(divergence="kl", hidden=(8,)), POINTS)
    batch = Batch(torch.randn(32, 2), None)
    torch.manual_seed(1)
    d = model.loss("disc", batch, Step())
    torch.testing.assert_close(d["loss"].detach(), -d["divergence"])
    torch.manual_seed(1)
    fake = model.fake(32)
    v = model.D(fake)
    expected = -torch.exp(v - 1).mean()  # -E_Q[f*(g_f(V))] for KL: g_f(v) = v, f*(t) = exp(t - 1)
    torch.manual_seed(1)
    torch.testing.assert_close(model.loss("gen", batch, Step())["loss"], expected)


def test_fgan_critic_penalty_is_the_squared_gradient_norm_of_the_critic():
    """A linear critic V(x) = w.x has ||grad_x V||^2 = ||w||^2 everywhere: the loss gains gamma / 2 ||w||^2."""
    torch.manual_seed(0)
    plain = FGAN(FGANConfig(divergence="kl", hidden=(8,)), POINTS)
    model = FGAN(FGANConfig(divergence="kl", hidden=(8,), critic_penalty=3.0), POINTS)
    for m in (plain, model):
        m.discriminator = nn.Linear(2, 1)
    model.discriminator.load_state_dict(plain.discriminator.state_dict())
    model.generator.load_state_dict(plain.generator.state_dict())
    w2 = plain.discriminator.weight.pow(2).sum()
    batch = Batch(torch.randn(32, 2), None)
    torch.manual_seed(1)
    base = plain.loss("disc", batch, Step())["loss"]
    torch.manual_seed(1)
    out = model.loss("disc", batch, Step())
    torch.testing.assert_close(out["penalty"], w2.detach())
    torch.testing.assert_close(out["loss"], base + 1.5 * w2)
    out["loss"].backward()  # differentiable in the critic's weights
    assert model.discriminator.weight.grad is not None
    with pytest.raises(ConfigError, match="critic_penalty"):
        FGANConfig(critic_penalty=-1.0)


def test_configs_of_the_family_share_the_network_fields():
    base = {f.name for f in dataclasses.fields(GANConfig)} - {"loss"}
    for cfg in (WGANConfig, WGANGPConfig, FGANConfig, UnrolledConfig, DCGANConfig):
        assert base <= {f.name for f in dataclasses.fields(cfg)}


# ----------------------------------------------------------------------------------------------------
# the "samples over epochs" figure every run gets


def test_samples_over_epochs_shows_the_first_middle_and_last_epoch(tmp_path):
    from PIL import Image

    from genlab.plots import epoch_picks, samples_over_epochs

    assert samples_over_epochs(tmp_path, tmp_path / "none.png") is None
    for epoch in range(1, 8):
        Image.new("RGB", (20, 20), (epoch * 30, 0, 0)).save(tmp_path / f"epoch-{epoch:04d}.png")
    files = sorted(tmp_path.glob("epoch-*.png"))
    assert [f.name for f in epoch_picks(files)] == ["epoch-0001.png", "epoch-0004.png", "epoch-0007.png"]
    assert [f.name for f in epoch_picks(files[:2])] == ["epoch-0001.png", "epoch-0002.png"]
    out = samples_over_epochs(tmp_path, tmp_path / "over-epochs.png")
    with Image.open(out) as im:
        assert im.width > 2 * im.height  # three panels side by side


def test_pacgan_packs_m_samples_into_one_discriminator_input():
    from genlab.api import make_configs

    info = DataInfo("ring8", "points", (2,), 8, "01", False)
    torch.manual_seed(0)
    model = GAN(GANConfig(hidden=(16,), noise_dim=4, pack=4), info)
    assert model.discriminator.net[0].in_features == 8  # 4 points of 2 coordinates
    x = torch.randn(12, 2)
    assert model.D(x).shape == (3,)
    # a group's logit depends on every one of its samples, and on no other group's
    y = x.clone()
    y[5] += 1.0
    changed = model.D(x) != model.D(y)
    assert changed.tolist() == [False, True, False]
    out = model.loss("disc", Batch(x, None), Step())
    assert torch.isfinite(out["loss"])
    with pytest.raises(ConfigError, match="multiple"):
        model.D(torch.randn(10, 2))
    with pytest.raises(ConfigError, match="pack"):
        make_configs("gan", "ring8", {"pack": "0"})
    from genlab.models.wgan_gp import WGANGP, WGANGPConfig

    with pytest.raises(ConfigError, match="per input sample"):
        WGANGP(WGANGPConfig(pack=2), info)


def test_wgan_gp_presets_keep_the_papers_optimizer_over_the_image_defaults():
    """On 32x32 images `genlab train wgan-gp` trains TTUR (one critic update, Adam 4e-4 / 1e-4); `--preset cifar10`
    and `--preset celeba64` are the paper's protocol: five critic updates, Adam 1e-4 with betas 0 and 0.9."""
    from genlab.api import make_configs

    assert make_configs("wgan-gp", "cifar10")["model"].d_steps == 1
    for preset in ("cifar10", "celeba64"):
        m = make_configs("wgan-gp", "cifar10", {"preset": preset})["model"]
        assert (m.d_steps, m.lr_g, m.lr_d, m.beta1, m.beta2) == (5, 1e-4, 1e-4, 0.0, 0.9), preset

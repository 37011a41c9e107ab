"""Generative adversarial network (Goodfellow et al. 2014, Algorithm 1).

For each training step:
    for k steps:   sample minibatches {z}, {x}; ascend  E[log D(x)] + E[log(1 - D(G(z)))]   (update D)
    sample {z};    descend E[log(1 - D(G(z)))]          (minimax, the paper's value function)
               or  descend -E[log D(G(z))]              (non-saturating, the paper's recommended heuristic)

At the optimal discriminator the minimax generator loss is 2 JS(p_data || p_g) - log 4: the GAN minimizes
the Jensen-Shannon divergence.

This file also holds what the whole GAN family shares: ``AdversarialConfig`` (noise, networks, optimizers,
k) and the networks. Networks: MLPs for points and small images, DCGAN networks (``nets/conv.py``: strided
convolutions in D, fractional-strided in G, batch norm, ReLU in G and LeakyReLU in D, no pooling or hidden
fully connected layers) for images of 16 pixels a side or more, or wherever ``net=conv``; ``init=dcgan``
draws the weights as the DCGAN paper does. The family's other models (cgan, dcgan, fgan, wgan, wgan-gp,
unrolled) are one subclass of ``GAN`` each, in their own files, overriding the loss or the networks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Optional

import torch
from torch import nn

from ..config import check
from ..data.base import Batch, DataInfo
from ..errors import ConfigError
from ..losses import gan_discriminator_loss, gan_generator_loss
from ..nets import dcgan_init, make_decoder, make_encoder, output_activation, resolve_net
from ..registry import MODELS
from .base import AdversarialOptim, GenerativeModel, Phase, Player, Step
from .image_presets import GAN_IMAGES


@dataclass
class AdversarialConfig(AdversarialOptim):
    """What every model of the GAN family has: noise, two networks, two optimizers, k D steps per G step."""

    noise_dim: int = 64  # size of the generator's input noise z
    d_steps: int = 1  # discriminator (critic) updates per generator update (k in Algorithm 1, n_critic in WGAN)
    pack: int = 1  # PacGAN (Lin et al. 2018): D judges `pack` samples at once, all real or all generated
    net: Literal["auto", "mlp", "conv"] = "auto"  # auto: DCGAN conv for images >= 16 px, else mlp
    hidden: tuple[int, ...] = (256, 256)  # MLP hidden sizes of G and D
    width: int = 64  # conv channels of D's first layer (G mirrors D)
    batchnorm: bool = True  # batch norm in the conv networks, as in DCGAN
    init: Literal["torch", "dcgan"] = "torch"  # dcgan: weights N(0, 0.02), batch-norm scales N(1, 0.02)
    optim: Literal["adam", "rmsprop"] = "adam"  # the optimizer of both players

    def __post_init__(self):
        super().__post_init__()
        check(self.noise_dim >= 1, "noise_dim", "must be >= 1")
        check(self.d_steps >= 1, "d_steps", "must be >= 1")
        check(self.pack >= 1, "pack", "must be >= 1")
        check(all(h >= 1 for h in self.hidden), "hidden", "sizes must be >= 1")
        check(self.width >= 1, "width", "must be >= 1")


@dataclass
class GANConfig(AdversarialConfig):
    loss: Literal["ns", "minimax"] = "ns"  # generator loss: non-saturating or the original minimax


@MODELS.register("gan")
class GAN(GenerativeModel):
    Config = GANConfig
    description = "GAN (Goodfellow et al. 2014): non-saturating or minimax loss, k D steps; MLP or DCGAN nets"
    preferred_range = "pm1"
    # 2-D mixtures: a larger step size (with the toy datasets' batch of 512) covers every mode
    presets = {"points": {"model": {"lr_g": 1e-3, "lr_d": 1e-3}}, "image-28": GAN_IMAGES, "image-32": GAN_IMAGES}
    discriminator_batchnorm = True  # WGAN-GP's per-sample gradient penalty needs a critic without it
    discriminator_bias = True  # the output bias; Wasserstein critics drop it (it cancels in their loss)

    def __init__(self, cfg: AdversarialConfig, info: DataInfo):
        super().__init__(cfg, info)
        net = self.net_kind()
        self.resolved = {"net": net}
        labels = info.num_classes if self.conditional else 0  # conditional models feed in one-hot labels
        self.generator, self.discriminator = self.networks(net, g_extra=labels, d_extra=labels)
        if cfg.init == "dcgan":
            dcgan_init(self)

    def discriminator_layernorm(self) -> bool:
        return False

    def net_kind(self) -> str:
        return resolve_net(self.cfg.net, self.info.shape)

    def networks(self, net: str, g_extra: int, d_extra: int) -> tuple[nn.Module, nn.Module]:
        """G: noise (+ g_extra inputs) -> data; D: data (+ d_extra channels, or inputs for an MLP) -> 1 logit."""
        c, info = self.cfg, self.info
        bn = c.batchnorm and net == "conv"
        d_shape = info.shape
        if c.pack > 1:  # packed samples side by side: channels of a conv D, inputs of an MLP D
            if d_extra:
                raise ConfigError(f"pack > 1 is not available for {type(self).__name__}: use pack=1")
            d_shape = (c.pack * info.shape[0], *info.shape[1:]) if net == "conv" else (c.pack * math.prod(info.shape),)
        if d_extra:
            d_shape = (info.shape[0] + d_extra, *info.shape[1:]) if net == "conv" else (math.prod(info.shape) + d_extra,)
        g = make_decoder(net, c.noise_dim + g_extra, info.shape, c.hidden, c.width, act="relu",
                         out_act=output_activation(info), batchnorm=bn)
        d = make_encoder(net, d_shape, 1, c.hidden, c.width, act="lrelu", batchnorm=bn and self.discriminator_batchnorm,
                         layernorm=self.discriminator_layernorm())
        if not self.discriminator_bias:
            out = [m for m in d.modules() if isinstance(m, nn.Linear)][-1]  # the output layer
            out.register_parameter("bias", None)
        return g, d

    def players(self) -> dict[str, Player]:
        c = self.cfg
        return {"disc": Player([self.discriminator], c.optimizer(c.lr_d, c.optim)),
                "gen": Player([self.generator], c.optimizer(c.lr_g, c.optim))}

    def phases(self) -> list[Phase]:
        return [Phase("disc")] * self.cfg.d_steps + [Phase("gen", data=False)]

    def packed(self, x: torch.Tensor) -> torch.Tensor:
        """D's input: with pack = m, consecutive groups of m samples side by side: (B / m, m * C, ...)."""
        m = self.cfg.pack
        if m == 1:
            return x
        if x.shape[0] % m:
            raise ConfigError(f"pack={m} needs a batch size that is a multiple of it, got {x.shape[0]}")
        return x.reshape(x.shape[0] // m, m * x.shape[1], *x.shape[2:])

    def D(self, x: torch.Tensor) -> torch.Tensor:
        return self.discriminator(self.packed(x)).squeeze(-1).float()  # (B,) logits, (B / pack,) when packed

    def fake(self, n: int) -> torch.Tensor:
        """G(z) for n fresh draws z ~ p(z)."""
        return self.generator(self.randn(n, self.cfg.noise_dim))

    def fake_for_d(self, n: int) -> torch.Tensor:
        """G(z) for D's phase: fresh noise, no graph through G (D's loss treats the samples as data)."""
        with torch.no_grad():
            return self.fake(n)

    def loss(self, phase: str, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        if phase == "disc":
            real_logits, fake_logits = self.D(batch.x), self.D(self.fake_for_d(batch.x.shape[0]))
            loss = gan_discriminator_loss(real_logits, fake_logits)
            return {"loss": loss, "d_real": torch.sigmoid(real_logits).mean().detach(),
                    "d_fake": torch.sigmoid(fake_logits).mean().detach()}
        return {"loss": gan_generator_loss(self.D(self.fake(batch.x.shape[0])), self.cfg.loss)}

    @torch.no_grad()
    def sample(self, n: int, generator: Optional[torch.Generator] = None,
               y: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.generator(self.randn(n, self.cfg.noise_dim, generator=generator))

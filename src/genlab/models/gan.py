"""Generative adversarial network (Goodfellow et al. 2014, Algorithm 1).

For each training step:
    for k steps:   sample minibatches {z}, {x}; ascend  E[log D(x)] + E[log(1 - D(G(z)))]   (update D)
    sample {z};    descend E[log(1 - D(G(z)))]          (minimax, the paper's value function)
               or  descend -E[log D(G(z))]              (non-saturating, the paper's recommended heuristic)

At the optimal discriminator the minimax generator loss is 2 JS(p_data || p_g) - log 4: the GAN minimizes
the Jensen-Shannon divergence. MLP networks for points and small images, DCGAN networks for larger images.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import torch

from ..config import check
from ..data.base import Batch, DataInfo
from ..losses import gan_discriminator_loss, gan_generator_loss
from ..nets import make_decoder, make_encoder, resolve_net
from ..registry import MODELS
from .base import GenerativeModel, OptimSpec, Phase, Player


@dataclass
class GANConfig:
    noise_dim: int = 64
    loss: Literal["ns", "minimax"] = "ns"  # generator loss: non-saturating or the original minimax
    d_steps: int = 1  # discriminator updates per generator update (k in Algorithm 1)
    net: Literal["auto", "mlp", "conv"] = "auto"  # auto: DCGAN conv for images >= 16 px, else mlp
    hidden: tuple[int, ...] = (256, 256)  # MLP hidden sizes of G and D
    width: int = 64  # conv channels of D's first layer (G mirrors D)
    batchnorm: bool = True  # batch norm in the conv networks, as in DCGAN
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999

    def __post_init__(self):
        check(self.noise_dim >= 1, "noise_dim", "must be >= 1")
        check(self.d_steps >= 1, "d_steps", "must be >= 1")
        check(self.lr_g > 0, "lr_g", "must be > 0")
        check(self.lr_d > 0, "lr_d", "must be > 0")


def output_activation(info: DataInfo) -> str:
    if info.kind == "points":
        return "none"
    return "tanh" if info.range == "pm1" else "sigmoid"


@MODELS.register("gan")
class GAN(GenerativeModel):
    Config = GANConfig
    description = "GAN (Goodfellow et al. 2014): non-saturating or minimax loss, k D steps; MLP or DCGAN nets"
    preferred_range = "pm1"
    # 2-D mixtures: a larger step size (with the toy datasets' batch of 512) covers every mode
    presets = {"points": {"lr_g": 1e-3, "lr_d": 1e-3}}

    def __init__(self, cfg: GANConfig, info: DataInfo):
        super().__init__(cfg, info)
        net = resolve_net(cfg.net, info.shape)
        self.generator = make_decoder(net, cfg.noise_dim, info.shape, cfg.hidden, cfg.width, act="relu",
                                      out_act=output_activation(info), batchnorm=cfg.batchnorm and net == "conv")
        self.discriminator = make_encoder(net, info.shape, 1, cfg.hidden, cfg.width, act="lrelu",
                                          batchnorm=cfg.batchnorm and net == "conv")

    def players(self) -> dict[str, Player]:
        c = self.cfg
        return {
            "disc": Player([self.discriminator], OptimSpec("adam", c.lr_d, (c.beta1, c.beta2))),
            "gen": Player([self.generator], OptimSpec("adam", c.lr_g, (c.beta1, c.beta2))),
        }

    def phases(self) -> list[Phase]:
        return [Phase("disc")] * self.cfg.d_steps + [Phase("gen", data=False)]

    def D(self, x: torch.Tensor) -> torch.Tensor:
        return self.discriminator(x).squeeze(-1)  # (B,) logits

    def loss(self, player: str, batch: Batch) -> dict[str, torch.Tensor]:
        z = self.randn(batch.x.shape[0], self.cfg.noise_dim)
        fake = self.generator(z)
        if player == "disc":
            real_logits, fake_logits = self.D(batch.x), self.D(fake.detach())
            loss = gan_discriminator_loss(real_logits, fake_logits)
            return {"loss": loss, "d_real": torch.sigmoid(real_logits).mean().detach(),
                    "d_fake": torch.sigmoid(fake_logits).mean().detach()}
        return {"loss": gan_generator_loss(self.D(fake), self.cfg.loss)}

    @torch.no_grad()
    def sample(self, n: int, generator: Optional[torch.Generator] = None,
               y: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.generator(self.randn(n, self.cfg.noise_dim, generator=generator))

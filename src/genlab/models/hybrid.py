"""What the autoencoding GANs share (``vaegan``, ``aae``, ``bigan``, ``alphagan``; GitHub issue 6).

Each has an encoder E: x -> z, a decoder (the generator G): z -> x, a prior p(z) (N(0, I) unless a model
says otherwise) and one or two discriminators; the models differ in what the discriminators see and in the
losses. This file holds the shared parts: ``HybridConfig`` (latent size, networks, two Adam step sizes), the
encoder and decoder, the prior, and the methods that genlab's pictures and metrics read from an
autoencoder: ``encode(x) -> (mu, logvar)``, ``decode_mean(z)``, ``reconstruct(x) = G(E(x))`` and
``posterior_mean(x)``. A deterministic encoder's ``encode`` returns (E(x), zeros): a point mass at E(x).

Networks as in the GAN family (``gan.py``): MLPs for points and 8x8 images, DCGAN convolutions for images
of 16 pixels a side or more (``net=auto``); the encoder is built like D (LeakyReLU), the decoder like G
(ReLU, batch norm in the conv networks, tanh output for images in [-1, 1]).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import torch

from ..config import check
from ..data.base import DataInfo
from ..nets import dcgan_init, gaussian_params, make_decoder, make_encoder, output_activation, reparameterize, resolve_net
from .base import AdversarialOptim, GenerativeModel, OptimSpec
from .image_presets import image_presets


@dataclass
class HybridConfig(AdversarialOptim):
    """What every autoencoding GAN has: a latent size, networks like the GAN family's, two Adam step sizes
    (``lr_g`` for the encoder and decoder, ``lr_d`` for the discriminators)."""

    latent_dim: int = 8  # size of the code z
    net: Literal["auto", "mlp", "conv"] = "auto"  # auto: DCGAN conv for images >= 16 px, else mlp
    hidden: tuple[int, ...] = (256, 256)  # MLP hidden sizes of E and the discriminators (G mirrors them)
    width: int = 64  # conv channels of the first layer of E and D (G mirrors them)
    batchnorm: bool = True  # batch norm in the conv networks (never in D's on codes)
    init: Literal["torch", "dcgan"] = "torch"  # dcgan: weights N(0, 0.02), batch-norm scales N(1, 0.02)

    def __post_init__(self):
        super().__post_init__()
        check(self.latent_dim >= 1, "latent_dim", "must be >= 1")
        check(all(h >= 1 for h in self.hidden) and len(self.hidden) >= 1, "hidden",
              "needs at least one size, each >= 1")
        check(self.width >= 1, "width", "must be >= 1")


class AutoencodingGAN(GenerativeModel):
    """Encoder, decoder and prior; subclasses add their discriminators in ``build_critics`` and say
    whether the encoder is a Gaussian q(z|x) (``stochastic``) or a deterministic map."""

    preferred_range = "pm1"
    named_presets = image_presets("hybrid")  # --preset cifar10, celeba64

    def __init__(self, cfg: HybridConfig, info: DataInfo):
        super().__init__(cfg, info)
        net = resolve_net(cfg.net, info.shape)
        self.resolved = {"net": net}
        bn = cfg.batchnorm and net == "conv"
        z = cfg.latent_dim
        self.encoder = make_encoder(net, info.shape, 2 * z if self.stochastic() else z, cfg.hidden, cfg.width,
                                    act="lrelu", batchnorm=bn)
        self.decoder = make_decoder(net, z, info.shape, tuple(reversed(cfg.hidden)), cfg.width, act="relu",
                                    out_act=output_activation(info), batchnorm=bn)
        self.build_critics(net, bn)
        if cfg.init == "dcgan":
            dcgan_init(self)

    def stochastic(self) -> bool:
        """Whether E(x) is a Gaussian q(z|x) = N(mu, diag exp(logvar)) (else a deterministic code)."""
        return False

    def build_critics(self, net: str, batchnorm: bool) -> None:
        raise NotImplementedError

    def adam(self, lr: float) -> OptimSpec:
        return self.cfg.optimizer(lr)

    # ------------------------------------------------------------------------------------------------
    # encoder, decoder, prior

    def encode(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of q(z | x): (B, Z) each; logvar is zeros (unused) for a deterministic encoder."""
        h = self.encoder(x)
        return gaussian_params(h) if self.stochastic() else (h, torch.zeros_like(h))

    def code(self, x: torch.Tensor) -> torch.Tensor:
        """z ~ q(z | x) for training: a reparameterized draw, or E(x) itself. (B, Z)"""
        mu, logvar = self.encode(x)
        return reparameterize(mu, logvar) if self.stochastic() else mu

    def decode_mean(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.decoder(z)

    def prior(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """n draws from p(z) = N(0, I): (n, Z)."""
        return self.randn(n, self.cfg.latent_dim, generator=generator)

    # ------------------------------------------------------------------------------------------------
    # what samples, pictures and metrics read

    @torch.no_grad()
    def sample(self, n: int, generator: Optional[torch.Generator] = None,
               y: Optional[torch.Tensor] = None) -> torch.Tensor:
        """G(z), z ~ p(z)."""
        return self.decoder(self.prior(n, generator))

    @torch.no_grad()
    def posterior_mean(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> dict[str, torch.Tensor]:
        return {"z1": self.encode(x)[0]}

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        """G(E(x)), with the mean code for a Gaussian encoder."""
        return self.decoder(self.encode(x)[0])

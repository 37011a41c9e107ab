"""Adversarial autoencoder (Makhzani, Shlens, Jaitly, Goodfellow & Frey 2015, "Adversarial Autoencoders",
section 2).

An autoencoder whose aggregated posterior q(z) = E_x[q(z|x)] is matched to a prior p(z) by a GAN on the
codes: a discriminator C tells samples of p(z) from codes z ~ q(z|x), and the encoder, as the GAN's
generator, learns to fool it. ``posterior=deterministic`` is the paper's first choice of q(z|x), a point
mass at E(x) (all stochasticity of q(z) comes from the data); ``gaussian`` its second, N(mu(x), diag
sigma^2(x)) sampled by reparameterization, which can spread each example's code instead of stretching
the data to fill the prior. Each minibatch goes through the paper's two phases:

    reconstruction:  descend  lambda ||x - G(E(x))||^2                      (encoder and decoder)
    regularization:  ascend   log C(z) + log(1 - C(E(x))),  z ~ p(z)        (update C)
                     descend  -log C(E(x))                                  (encoder, non-saturating)

The encoder is in both phases, and genlab's players never share parameters, so the reconstruction step
and the encoder's regularization step are one update of the autoencoder with the summed loss
lambda ||x - G(E(x))||^2 - log C(E(x)) (the decoder only sees the first term; lambda plays the part of the
paper's ratio of the two phases' learning rates); then C is updated on the same batch. The squared error is
averaged over dimensions (so lambda does not depend on the data's size), as alpha-GAN's L1 error.
``sample``: G(z), z ~ p(z).

Priors (section 3 of the paper): ``gaussian`` N(0, I), or ``mog``, a mixture of K equally likely Gaussians
of standard deviation ``mog_std``: in 2-D their means lie on a circle of radius ``mog_radius``, in other
dimensions on the axes, +r e_1, ..., +r e_d, -r e_1, ... (so K <= 2d).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Optional

import torch

from ..config import check
from ..data.base import Batch
from ..losses import gan_discriminator_loss, gan_generator_loss
from ..nets import MLP
from ..registry import MODELS
from .base import Phase, Player
from .hybrid import AutoencodingGAN, HybridConfig


@dataclass
class AAEConfig(HybridConfig):
    posterior: Literal["deterministic", "gaussian"] = "deterministic"  # q(z|x): E(x), or a Gaussian
    prior: Literal["gaussian", "mog"] = "gaussian"
    mog_components: int = 10
    mog_radius: float = 4.0  # distance of each component's mean from the origin
    mog_std: float = 0.5
    code_hidden: tuple[int, ...] = (256, 256)  # MLP hidden sizes of the code discriminator C
    rec_weight: float = 10.0  # lambda, the weight of the reconstruction error against the regularization loss

    def __post_init__(self):
        super().__post_init__()
        check(self.mog_components >= 1, "mog_components", "must be >= 1")
        check(self.prior != "mog" or self.latent_dim == 2 or self.mog_components <= 2 * self.latent_dim,
              "mog_components", f"must be <= 2 * latent_dim ({2 * self.latent_dim}) unless latent_dim is 2: "
                                "the means lie on the axes")
        check(self.mog_radius > 0, "mog_radius", "must be > 0")
        check(self.mog_std > 0, "mog_std", "must be > 0")
        check(all(h >= 1 for h in self.code_hidden), "code_hidden", "sizes must be >= 1")
        check(self.rec_weight >= 0, "rec_weight", "must be >= 0")


def mixture_means(k: int, dim: int, radius: float) -> torch.Tensor:
    """(K, dim) means: on a circle in 2-D, else +-radius on the axes in turn."""
    if dim == 2:
        angle = torch.arange(k, dtype=torch.float64) * (2 * math.pi / k)
        return (radius * torch.stack([angle.cos(), angle.sin()], 1)).float()
    means = torch.zeros(k, dim)
    for i in range(k):
        means[i, i % dim] = radius if i < dim else -radius
    return means


@MODELS.register("aae")
class AAE(AutoencodingGAN):
    Config = AAEConfig
    description = "adversarial autoencoder (Makhzani et al. 2015): GAN on the codes; prior=gaussian|mog"
    # images: DCGAN's init and lambda = 1 (more weight on matching the prior). Fashion-MNIST, 1 epoch at batch
    # 64: FID 125 with the PyTorch init and lambda = 10, 101 with DCGAN's init, 88.5 with both; 2 epochs: 92.2
    # (PyTorch init, lambda = 10) and 73.5 (both)
    presets = {"points": {"latent_dim": 2, "lr_g": 1e-3, "lr_d": 1e-3},
               "image": {"init": "dcgan", "rec_weight": 1.0}}

    def stochastic(self) -> bool:
        return self.cfg.posterior == "gaussian"

    def build_critics(self, net: str, batchnorm: bool) -> None:
        c = self.cfg
        self.code_discriminator = MLP((c.latent_dim,), (*c.code_hidden, 1), act="lrelu")
        self.register_buffer("means", mixture_means(c.mog_components, c.latent_dim, c.mog_radius), persistent=False)

    def players(self) -> dict[str, Player]:
        return {"autoencoder": Player([self.encoder, self.decoder], self.adam(self.cfg.lr_g)),
                "disc": Player([self.code_discriminator], self.adam(self.cfg.lr_d))}

    def phases(self) -> list[Phase]:
        return [Phase("autoencoder"), Phase("disc", data=False)]

    def prior(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        if self.cfg.prior == "gaussian":
            return super().prior(n, generator)
        k = torch.randint(len(self.means), (n,), device=self.device, generator=generator)
        return self.means[k] + self.cfg.mog_std * self.randn(n, self.cfg.latent_dim, generator=generator)

    def C(self, z: torch.Tensor) -> torch.Tensor:
        return self.code_discriminator(z).squeeze(-1)  # (B,) logits: z from the prior

    def loss(self, player: str, batch: Batch) -> dict[str, torch.Tensor]:
        x = batch.x
        z = self.code(x)
        if player == "autoencoder":
            rec = (x - self.decoder(z)).pow(2).mean()
            adv = gan_generator_loss(self.C(z))
            return {"loss": self.cfg.rec_weight * rec + adv, "rec": rec.detach(), "enc_adv": adv.detach()}
        prior, codes = self.C(self.prior(x.shape[0])), self.C(z.detach())
        return {"loss": gan_discriminator_loss(prior, codes), "c_prior": torch.sigmoid(prior).mean().detach(),
                "c_codes": torch.sigmoid(codes).mean().detach()}

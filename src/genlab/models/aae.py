"""Adversarial autoencoder (Makhzani, Shlens, Jaitly, Goodfellow & Frey 2015, "Adversarial Autoencoders",
section 2).

An autoencoder whose aggregated posterior q(z) = E_x[q(z|x)] is matched to a prior p(z) by a GAN on the
codes: a discriminator C tells samples of p(z) from codes z ~ q(z|x), and the encoder, as the GAN's
generator, learns to fool it. ``posterior=deterministic`` is the paper's first choice of q(z|x), a point
mass at E(x) (all stochasticity of q(z) comes from the data); ``gaussian`` its second, N(mu(x), diag
sigma^2(x)) sampled by reparameterization, which can spread each example's code instead of stretching
the data to fill the prior. Each minibatch goes through the paper's two phases:

    reconstruction:  descend  lambda ||x - G(E(x))||^2                      (encoder and decoder)
    regularization:  z^ = E(x) with the updated encoder, z ~ p(z)
                     ascend   log C(z) + log(1 - C(z^))                     (update C)
                     descend  -log C(z^)                                    (encoder, non-saturating)

The codes z^ of the regularization phase are computed once (``step.shared``) and serve both its updates.
The squared error is averaged over dimensions (as alpha-GAN's L1 error). The encoder has one Adam
optimizer for both of its phases, whose moment estimates see both phases' gradients: lambda sets how large
the reconstruction gradients are against the adversarial ones there (the paper sets the two phases' step
sizes apart instead). ``sample``: G(z), z ~ p(z).

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
from .base import Phase, Player, Step
from .hybrid import AutoencodingGAN, HybridConfig
from .image_presets import GAN_IMAGES


@dataclass
class AAEConfig(HybridConfig):
    posterior: Literal["deterministic", "gaussian"] = "deterministic"  # q(z|x): E(x), or a Gaussian
    prior: Literal["gaussian", "mog"] = "gaussian"  # p(z) the codes are matched to: N(0, I) or a mixture
    mog_components: int = 10  # mog: number of Gaussians, their means on a circle
    mog_radius: float = 4.0  # distance of each component's mean from the origin
    mog_std: float = 0.5  # mog: standard deviation of each component
    code_hidden: tuple[int, ...] = (256, 256)  # MLP hidden sizes of the code discriminator C
    rec_weight: float = 10.0  # lambda, the weight of the reconstruction error (see the docstring)

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
    # 2-D points: the Gaussian posterior q(z|x). Searched (seed 0, 5,850 steps; ring8 modes / % high quality;
    # grid25 modes / %): deterministic E(x) 6/8, 1.3%; 18/25, 1.4%; Gaussian 8/8, 3.1%; 19/25, 1.9%; and with
    # E(x): a linear decay 3/8; 19/25; prior=mog 3/8; 20/25; rec_weight 1: 6/8; 100: 8/8, 1.4%; Adam 2e-4: 4/8.
    # No setting puts more than 5% of the samples on the ring's 0.02-wide modes: the decoder, trained only to
    # reconstruct, spreads the prior's mass between them.
    presets = {"points": {"model": {"latent_dim": 2, "lr_g": 1e-3, "lr_d": 1e-3, "posterior": "gaussian"}},
               "image": {"model": {"init": "dcgan", "rec_weight": 1.0}}, "image-28": GAN_IMAGES, "image-32": GAN_IMAGES}

    def stochastic(self) -> bool:
        return self.cfg.posterior == "gaussian"

    def build_critics(self, net: str, batchnorm: bool) -> None:
        c = self.cfg
        self.code_discriminator = MLP((c.latent_dim,), (*c.code_hidden, 1), act="lrelu")
        self.register_buffer("means", mixture_means(c.mog_components, c.latent_dim, c.mog_radius), persistent=False)

    def players(self) -> dict[str, Player]:
        return {"encoder": Player([self.encoder], self.adam(self.cfg.lr_g)),
                "decoder": Player([self.decoder], self.adam(self.cfg.lr_g)),
                "disc": Player([self.code_discriminator], self.adam(self.cfg.lr_d))}

    def phases(self) -> list[Phase]:
        return [Phase("reconstruction", players=("encoder", "decoder")), Phase("disc", data=False),
                Phase("regularization", players=("encoder",), data=False)]

    def prior(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        if self.cfg.prior == "gaussian":
            return super().prior(n, generator)
        k = torch.randint(len(self.means), (n,), device=self.device, generator=generator)
        return self.means[k] + self.cfg.mog_std * self.randn(n, self.cfg.latent_dim, generator=generator)

    def C(self, z: torch.Tensor) -> torch.Tensor:
        return self.code_discriminator(z).squeeze(-1).float()  # (B,) logits: z from the prior

    def loss(self, phase: str, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        x = batch.x
        if phase == "reconstruction":
            rec = (x - self.decoder(self.code(x))).pow(2).mean()
            return {"loss": self.cfg.rec_weight * rec, "rec": rec.detach()}
        codes = step.shared("codes", lambda: self.code(x))  # z^ = E(x) after the reconstruction update
        if phase == "disc":
            prior, posterior = self.C(self.prior(x.shape[0])), self.C(codes.detach())
            return {"loss": gan_discriminator_loss(prior, posterior), "c_prior": torch.sigmoid(prior).mean().detach(),
                    "c_codes": torch.sigmoid(posterior).mean().detach()}
        return {"loss": gan_generator_loss(self.C(codes))}

"""WGAN with gradient penalty (Gulrajani, Ahmed, Arjovsky, Dumoulin & Courville 2017, Algorithm 1).

    for each step:
        for t = 1..n_critic:
            sample x ~ P_r, z ~ p(z), eps ~ U[0, 1]      (one eps per sample, shared by all its pixels)
            x~ = G(z);  x^ = eps x + (1 - eps) x~
            L = D(x~) - D(x) + lambda (||grad_x^ D(x^)||_2 - 1)^2;   descend L in w with Adam(alpha, beta1, beta2)
        sample z;  descend -D(G(z)) in theta with Adam(alpha, beta1, beta2)

The penalty is a per-sample quantity, so the critic has no batch norm (``critic_norm=layer`` puts layer
normalization in its place on images, as section 4 of the paper recommends), and no output bias (it
cancels in the loss). Paper defaults: lambda = 10, n_critic = 5, alpha = 1e-4, beta1 = 0,
beta2 = 0.9.

``--preset ttur`` trades the five critic updates for a faster critic: one critic update per generator
update, the critic's step size four times the generator's (4e-4 and 1e-4, Adam betas 0.5 and 0.9; the
two time-scale update rule of Heusel et al. 2017 with SAGAN's step sizes), and layer normalization in the
conv critic. Each generator update then costs about a fifth as much, and on Fashion-MNIST a CPU reaches
recognizable samples in a few epochs where the paper's settings need many more (README, "Images").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import torch

from ..config import check
from ..data.base import Batch
from ..errors import ConfigError
from ..losses import gradient_penalty
from ..registry import MODELS
from .base import Step
from .gan import GAN, AdversarialConfig
from .image_presets import GAN_IMAGES, image_presets
from .wgan import critic_gap


def interpolates(real: torch.Tensor, fake: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """eps * real + (1 - eps) * fake with one eps ~ U[0, 1] per sample: eps has shape (B, 1, ..., 1)."""
    eps = torch.rand(real.shape[0], *[1] * (real.dim() - 1), device=real.device, generator=generator)
    return eps * real + (1 - eps) * fake


# one critic update per generator update at 4x its step size (Heusel et al. 2017's two time-scale rule), with
# the layer norm the WGAN-GP paper recommends in the critic
TTUR = {"d_steps": 1, "lr_d": 4e-4, "lr_g": 1e-4, "beta1": 0.5, "beta2": 0.9, "critic_norm": "layer"}
IMAGES = {"model": TTUR, **GAN_IMAGES}  # 28x28 and 32x32 images on a CPU budget (see the class)


@dataclass
class WGANGPConfig(AdversarialConfig):
    d_steps: int = 5  # n_critic
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    beta1: float = 0.0
    beta2: float = 0.9
    gp_weight: float = 10.0  # lambda
    # the paper (section 4) drops batch norm from the critic and recommends layer normalization in its place
    critic_norm: Literal["none", "layer"] = "none"

    def __post_init__(self):
        super().__post_init__()
        check(self.gp_weight >= 0, "gp_weight", "must be >= 0")


@MODELS.register("wgan-gp")
class WGANGP(GAN):
    Config = WGANGPConfig
    description = "WGAN-GP (Gulrajani et al. 2017): gradient penalty on per-sample interpolates, Adam, n_critic"
    # 28x28 images on a CPU budget: the paper's five critic updates at Adam 1e-4 leave Fashion-MNIST's samples
    # speckled after 8 epochs (1,500 generator updates, FID 114 in classifier features); one critic update at 4x
    # the generator's step size (TTUR) gives FID 61.8 with all 10 classes after 5 epochs (README, Fashion-MNIST)
    # 32x32 colour (the stand-in of models/image_presets.py, 3 epochs, seed 0): TTUR FID 82.3, the paper's 119.7.
    # 2-D points: the old defaults (256-256, Adam 1e-4, 1,170 generator steps) found 0 of ring8's 8 modes.
    # Searched on ring8 at 128-128 and Adam 1e-3 for both (seed 0; modes / % high quality): 3,000 steps with
    # n_critic 5 and the step size decayed linearly to zero 8/8, 19.6% (229 s); constant 8/8, 9.5%; n_critic 1
    # 0/8 either way; 2,000 steps with lr_d 3e-4 3/8, 0.2%. The penalty's weight at that setting (ring8; grid25
    # modes / %): lambda 10 8/8, 19.6%; 17/25, 2.7%; lambda 1 8/8, 77.7%; 23/25, 6.6%; lambda 0.1 8/8, 80.0%;
    # 20/25, 2.9%. The mixtures' modes are 0.02 wide: a critic held near slope 1 everywhere cannot tell a sample
    # 0.05 from a mode from one on it; a lighter penalty lets it.
    presets = {"points": {"model": {"hidden": (128, 128), "lr_g": 1e-3, "lr_d": 1e-3, "gp_weight": 1.0},
                          "train": {"steps": 3000, "lr_schedule": "linear"}},
               "image-28": IMAGES, "image-32": IMAGES}
    named_presets = {"ttur": {"model": TTUR}, **image_presets("wgan-gp")}
    discriminator_batchnorm = False
    discriminator_bias = False  # cancels in the loss

    def __init__(self, cfg, info):
        if cfg.pack > 1:  # the penalty is on the norm of each of D's inputs, which packing would change
            raise ConfigError("wgan-gp takes pack=1: its gradient penalty is per input sample")
        super().__init__(cfg, info)

    def discriminator_layernorm(self) -> bool:
        return self.cfg.critic_norm == "layer"

    def loss(self, phase: str, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        if phase == "disc":
            fake = self.fake_for_d(batch.x.shape[0])
            gap = critic_gap(self.D(batch.x), self.D(fake))
            penalty = gradient_penalty(self.D, interpolates(batch.x, fake))
            return {"loss": -gap + self.cfg.gp_weight * penalty, "wasserstein": gap.detach(),
                    "penalty": penalty.detach()}
        return {"loss": -self.D(self.fake(batch.x.shape[0])).mean()}

"""Renyi divergence variational inference (Li & Turner 2016, arXiv 1602.02311).

Trains the VAE's networks on the variational Renyi bound (eq. 5, estimated as in eq. 13 with K samples):

    L_alpha(x) = 1/(1 - alpha) log E_q[ (p(x, z) / q(z|x))^(1 - alpha) ]

alpha = 0 gives the IWAE bound, alpha -> 1 the ELBO, alpha < 0 an upper-bound-like, mass-covering objective
(the Monte-Carlo estimate is then no longer a lower bound), alpha -> +inf the most mode-seeking (VR-max).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

from ..config import check
from ..losses import renyi_bound
from ..registry import MODELS
from .base import Step
from .vae import VAE, Terms, VAEConfig


@dataclass
class VRConfig(VAEConfig):
    k: int = 5  # samples per data point
    kl: Literal["mc"] = "mc"  # the bound needs the sampled log q - log p, never the analytic KL
    alpha: float = 0.5  # the Renyi bound's alpha (0: the IWAE bound, 1: the ELBO)

    def __post_init__(self):
        super().__post_init__()
        check(math.isfinite(self.alpha), "alpha", "must be a finite number")


@MODELS.register("vr")
class VR(VAE):
    Config = VRConfig
    description = "Renyi divergence VI (Li & Turner 2016): the VR bound with alpha (0: IWAE, 1: ELBO)"

    def bound(self, t: Terms, step: Step) -> torch.Tensor:
        return renyi_bound(t.lw, self.cfg.alpha)

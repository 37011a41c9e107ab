"""Importance weighted autoencoder (Burda, Grosse & Salakhutdinov 2015, arXiv 1509.00519).

The same networks as the VAE, trained on the tighter importance-weighted bound (eq. 8):

    L_K(x) = E_{z_1..z_K ~ q(z|x)} [ log (1/K) sum_k p(x, z_k) / q(z_k|x) ]

with L_1 = ELBO <= L_K <= L_{K+1} <= log p(x). Its gradient (eq. 14) weights each sample's ELBO gradient by
its normalized importance weight w~_k = softmax_k(lw). With K = 1 it is exactly the VAE (trained with the
one-sample KL estimate).

estimator=dreg: the doubly-reparameterized gradient (Tucker, Lawson, Gu & Maddison 2018, eq. 5) for the
encoder: sum_k w~_k^2 d lw_k/d z_k dz_k/dphi, dropping the score term whose variance grows with K; the
decoder keeps the gradient above. Implemented by stopping the gradient through q's parameters in log q and
scaling the gradient that reaches z_k by w~_k.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from ..config import check
from ..data.base import Batch
from ..losses import iwae_bound
from ..registry import MODELS
from .base import Step
from .vae import VAE, Terms, VAEConfig


@dataclass
class IWAEConfig(VAEConfig):
    k: int = 5  # importance samples per data point
    kl: Literal["mc"] = "mc"  # the bound needs the sampled log q - log p, never the analytic KL
    estimator: Literal["reparam", "dreg"] = "reparam"  # encoder gradient estimator

    def __post_init__(self):
        super().__post_init__()
        check(not (self.estimator == "dreg" and self.layers == 2), "estimator",
              "dreg is implemented for one stochastic layer; use estimator=reparam with layers=2")


@MODELS.register("iwae")
class IWAE(VAE):
    Config = IWAEConfig
    description = "importance weighted autoencoder (Burda et al. 2015): K-sample bound, optional DReG gradients"

    def bound(self, t: Terms, step: Step) -> torch.Tensor:
        return iwae_bound(t.lw)

    def loss(self, phase: str, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        if self.cfg.estimator == "reparam":
            return super().loss(phase, batch, step)
        weights = {}  # filled once lw is known; the hook runs during backward

        def scale(grad: torch.Tensor) -> torch.Tensor:  # (B, K, Z): d/dz_k gets one more factor w~_k
            return grad * weights["w"].unsqueeze(-1)

        t = self.terms(batch.x, self.cfg.k, batch.y, stop_q_grad=True, z_hook=scale)
        lw = t.lw  # (B, K)
        w = torch.softmax(lw, dim=-1).detach()
        weights["w"] = w
        surrogate = -(w * lw).sum(-1).mean()  # decoder: sum_k w~_k grad lw_k; encoder (via the hook): w~_k^2
        bound = iwae_bound(lw.detach())
        return {"loss": surrogate, "bound": bound.mean(), "rec": -t.log_px.mean().detach(),
                "kl": t.kl.mean().detach()}

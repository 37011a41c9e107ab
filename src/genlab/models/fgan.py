"""f-GAN (Nowozin, Cseke & Tomioka 2016, "f-GAN: Training Generative Neural Samplers using Variational
Divergence Minimization", equation 6 and Algorithm 1).

The critic V and the generator G play the saddle-point game of the variational lower bound on D_f:

    F(theta, omega) = E_{x ~ P}[g_f(V_omega(x))] - E_{x ~ Q_theta}[f*(g_f(V_omega(x)))]

    for each step:  ascend F in omega (the critic; F is then an estimate of D_f(P || Q_theta), logged as
                    'divergence'), descend F in theta (the generator)

with f, its conjugate f* and the output activation g_f taken from one table (``genlab.divergences``) for
every divergence of the paper: total variation, KL, reverse KL, Pearson and Neyman chi^2, squared Hellinger,
Jeffrey, Jensen-Shannon, weighted JS (pi), the GAN divergence and the alpha-divergence (alpha). P is the
data and Q the model, so ``kl`` is the mode-covering KL(P || Q) and ``reverse-kl`` the mode-seeking
KL(Q || P). ``gen_loss=ns`` uses the paper's alternative generator objective (section 3.2): maximize
E_Q[g_f(V(G(z)))] instead of minimizing -E_Q[f*(g_f(V(G(z))))]; for ``gan`` it is the non-saturating GAN.
For ``kl`` this changes what G follows: V's optimum is 1 + log(p/q), so G ascends log(p/q), as the
reverse-KL saddle's G does (its V* = log(p/q)); KL's own saddle gives G the gradient (p/q) grad log(p/q).

``critic_penalty=gamma`` adds gamma / 2 * E[||grad_x V(x)||^2], half at data and half at generated points
(the zero-centred penalties R1 + R2 of Mescheder, Geiger & Nowozin 2018; Roth et al. 2017 derive one for
f-GANs). It matters most for ``kl``: the generator's gradient there is weighted by f*'(T) = exp(T - 1),
about p/q, so samples where the data has no mass get none and stay where they are, while T grows without
bound on modes the model misses. A smooth critic gives every sample a direction towards the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from ..config import check
from ..data.base import Batch, DataInfo
from ..divergences import FDivergence, divergence, variational_bound
from ..losses import input_gradient_norm
from ..registry import MODELS
from .base import Step
from .gan import GAN, AdversarialConfig
from .image_presets import GAN_IMAGES

Divergence = Literal["total-variation", "kl", "reverse-kl", "pearson", "neyman", "hellinger", "jeffrey", "js",
                     "weighted-js", "gan", "alpha"]


@dataclass
class FGANConfig(AdversarialConfig):
    divergence: Divergence = "kl"  # the f-divergence the critic estimates and G minimizes
    alpha: float = 0.5  # the alpha-divergence's alpha (not 0 or 1: those are reverse KL and KL)
    pi: float = 0.5  # weighted-js's weight of P, in (0, 1)
    gen_loss: Literal["saddle", "ns"] = "saddle"  # saddle: descend F itself; ns: ascend E_Q[g_f(V)]
    critic_penalty: float = 0.0  # gamma: the critic's loss gets + gamma / 2 * E[||grad_x V||^2] at data and samples

    def __post_init__(self):
        super().__post_init__()
        check(abs(self.alpha) > 1e-6 and abs(self.alpha - 1) > 1e-6, "alpha",
              "must not be 0 or 1 (use divergence=reverse-kl or divergence=kl for those limits)")
        check(0 < self.pi < 1, "pi", "must be in (0, 1)")
        check(self.critic_penalty >= 0, "critic_penalty", "must be >= 0")


@MODELS.register("fgan")
class FGAN(GAN):
    Config = FGANConfig
    description = "f-GAN (Nowozin et al. 2016): variational divergence minimization for every divergence of the paper"
    # 2-D points: Adam 5e-4 decayed linearly to zero, with a light critic penalty (gamma = 1). Searched with the
    # default KL, 5,850 steps, seed 0 (ring8 modes / % high quality; grid25 modes / %): the old defaults (2e-4,
    # constant, no penalty) 8/8 65.0%, 16/25 1.2%; 5e-4 without a penalty found no grid mode (constant or linear);
    # linear 5e-4 with gamma 1: 8/8 73.2%, 24/25 2.9%; gamma 3: 8/8 69.3%, 20/25 4.0%; gamma 10: 8/8 44.2%,
    # 24/25 4.7% (gamma 10 at lr_g, lr_d in {2e-4, 5e-4}^2: 22 to 24 grid modes). Above 5e-4 KL's
    # f*(t) = exp(t - 1) overflows.
    # Images: reverse KL with the same light penalty. With KL, G's gradient is weighted by exp(T - 1) at its
    # samples, which vanishes once the critic tells them apart: on Fashion-MNIST (3 epochs, seed 0, 10,000 samples,
    # FID in the domain classifier's features / classes found) KL gave FID 664.5 and 1 of 10 classes (G's loss
    # stuck at -5e-13); KL with gamma 1: 470.6; KL with the f-GAN paper's generator heuristic (gen_loss=ns):
    # 226.6, with gamma 1: 337.9 (shapeless blobs); reverse KL with gamma 1: 72.2, all 10 classes (the gan
    # at its defaults: 73.9). Reverse KL's G descends 1 - V at its samples, a gradient that never vanishes.
    presets = {"points": {"model": {"critic_penalty": 1.0, "lr_g": 5e-4, "lr_d": 5e-4},
                          "train": {"lr_schedule": "linear"}},
               "image": {"model": {"divergence": "reverse-kl", "critic_penalty": 1.0}},
               "image-28": GAN_IMAGES, "image-32": GAN_IMAGES}

    def __init__(self, cfg: FGANConfig, info: DataInfo):
        super().__init__(cfg, info)
        self.div: FDivergence = divergence(cfg.divergence, alpha=cfg.alpha, pi=cfg.pi)

    def loss(self, phase: str, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        if phase == "disc":
            fake = self.fake_for_d(batch.x.shape[0])
            bound = variational_bound(self.div, self.D(batch.x), self.D(fake))
            out = {"loss": -bound, "divergence": bound.detach()}
            if self.cfg.critic_penalty > 0:
                penalty = 0.5 * (input_gradient_norm(self.D, batch.x).pow(2).mean() +
                                 input_gradient_norm(self.D, fake).pow(2).mean())
                out["loss"] = out["loss"] + self.cfg.critic_penalty / 2 * penalty
                out["penalty"] = penalty.detach()
            return out
        t = self.div.activation(self.D(self.fake(batch.x.shape[0])))  # T(G(z)) in the domain of f*
        if self.cfg.gen_loss == "ns":
            return {"loss": -t.mean()}
        return {"loss": -self.div.conjugate(t).mean()}  # F up to E_P[T], which G does not change

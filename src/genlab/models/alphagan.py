"""alpha-GAN (Rosca, Lakshminarayanan, Warde-Farley & Mohamed 2017, "Variational Approaches for
Auto-Encoding Generative Adversarial Networks", Algorithm 1).

An autoencoder and a GAN that share the generator, with two discriminators: D on data tells real x from
reconstructions x^ = G(E(x)) and samples x_p = G(z); C on codes tells prior draws z ~ N(0, I) from codes
z^ = E(x) (an implicit, here deterministic, encoder). The reconstruction term is an L1 error weighted by
lambda. For each minibatch x and prior draw z (Algorithm 1):

    z^ = E(x),  x^ = G(z^),  x_p = G(z)                                (once per minibatch)

    encoder:    descend  lambda ||x - x^||_1 + A(C(z^))
    generator:  descend  lambda ||x - x^||_1 + A(D(x^)) + A(D(x_p))
    D:          descend  -log D(x) - log(1 - D(x^)) - log(1 - D(x_p))
    C:          descend  -log C(z) - log(1 - C(z^))     (prior and posterior the right way round, as the
                                                          authors corrected the first arXiv version)

with A(d) = -log d, the non-saturating loss (``gen_loss=ns``), or A(d) = -log(d / (1 - d)), the density-ratio
form of the paper's Algorithm 1 (``gen_loss=ratio``: minus the logit). The L1 error is averaged over
dimensions (so lambda does not depend on the image size) and every term over the batch.

The forward pass above, with D's outputs on x, x^, x_p and C's on z^, z, is computed once per minibatch
(``step.shared``) and the four networks are then updated in turn, each by its own gradient of that pass, as
in Algorithm 1: no network is run twice. (A phase differentiates only through networks not yet updated in
the step: the generator's loss reaches G through D, which updates later.)
``reconstruct(x)`` = G(E(x)); ``sample``: G(z), z ~ N(0, I).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from ..config import check
from ..data.base import Batch
from ..losses import gan_discriminator_loss, l1_error
from ..nets import MLP, make_encoder
from ..registry import MODELS
from .base import Phase, Player, Step
from .hybrid import AutoencodingGAN, HybridConfig
from .image_presets import GAN_IMAGES


@dataclass
class AlphaGANConfig(HybridConfig):
    rec_weight: float = 10.0  # lambda, the weight of the L1 reconstruction error
    gen_loss: Literal["ns", "ratio"] = "ns"  # A(d) = -log d, or -log(d / (1 - d)) as in the paper
    code_hidden: tuple[int, ...] = (256, 256)  # MLP hidden sizes of the code discriminator C (no batch norm)

    def __post_init__(self):
        super().__post_init__()
        check(self.rec_weight >= 0, "rec_weight", "must be >= 0")
        check(all(h >= 1 for h in self.code_hidden), "code_hidden", "sizes must be >= 1")


@dataclass
class AlphaGANPass:
    """What the four updates of one minibatch share: the L1 error and the discriminators' logits (B,)."""

    rec: torch.Tensor  # ||x - x^||_1, averaged
    d_real: torch.Tensor  # D(x)
    d_rec: torch.Tensor  # D(x^)
    d_prior: torch.Tensor  # D(x_p)
    c_codes: torch.Tensor  # C(z^)
    c_prior: torch.Tensor  # C(z)


@MODELS.register("alphagan")
class AlphaGAN(AutoencodingGAN):
    Config = AlphaGANConfig
    description = ("alpha-GAN (Rosca et al. 2017): L1 autoencoder + GAN sharing G, with a data and a code "
                   "discriminator")
    presets = {"points": {"model": {"latent_dim": 2, "lr_g": 1e-3, "lr_d": 1e-3, "rec_weight": 1.0}},
               "image-28": GAN_IMAGES, "image-32": GAN_IMAGES}

    def build_critics(self, net: str, batchnorm: bool) -> None:
        c = self.cfg
        self.discriminator = make_encoder(net, self.info.shape, 1, c.hidden, c.width, act="lrelu",
                                          batchnorm=batchnorm)
        self.code_discriminator = MLP((c.latent_dim,), (*c.code_hidden, 1), act="lrelu")

    def players(self) -> dict[str, Player]:
        c = self.cfg
        return {"encoder": Player([self.encoder], self.adam(c.lr_g)),
                "generator": Player([self.decoder], self.adam(c.lr_g)),
                "disc": Player([self.discriminator], self.adam(c.lr_d)),
                "code_disc": Player([self.code_discriminator], self.adam(c.lr_d))}

    def phases(self) -> list[Phase]:
        return [Phase("encoder"), Phase("generator", data=False), Phase("disc", data=False),
                Phase("code_disc", data=False)]

    def D(self, x: torch.Tensor) -> torch.Tensor:
        return self.discriminator(x).squeeze(-1).float()  # (B,) logits: x is data

    def C(self, z: torch.Tensor) -> torch.Tensor:
        return self.code_discriminator(z).squeeze(-1).float()  # (B,) logits: z is from the prior

    def adversarial(self, logits: torch.Tensor) -> torch.Tensor:
        """A(d) averaged over the batch, from logits of d."""
        return F.softplus(-logits).mean() if self.cfg.gen_loss == "ns" else -logits.mean()

    def forward_pass(self, x: torch.Tensor) -> AlphaGANPass:
        """Algorithm 1's forward pass for a minibatch x and a prior draw z."""
        z_hat = self.encoder(x)
        x_hat = self.decoder(z_hat)
        z = self.prior(x.shape[0])
        x_p = self.decoder(z)
        return AlphaGANPass(rec=l1_error(x_hat, x).mean(), d_real=self.D(x), d_rec=self.D(x_hat), d_prior=self.D(x_p),
                            c_codes=self.C(z_hat), c_prior=self.C(z))

    def loss(self, phase: str, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        p = step.shared("pass", lambda: self.forward_pass(batch.x))
        lam = self.cfg.rec_weight
        if phase == "encoder":
            adv = self.adversarial(p.c_codes)
            return {"loss": lam * p.rec + adv, "rec_l1": p.rec.detach(), "enc_adv": adv.detach()}
        if phase == "generator":
            adv = self.adversarial(p.d_rec) + self.adversarial(p.d_prior)
            return {"loss": lam * p.rec + adv, "gen_adv": adv.detach()}
        if phase == "disc":
            loss = F.softplus(-p.d_real).mean() + F.softplus(p.d_rec).mean() + F.softplus(p.d_prior).mean()
            return {"loss": loss, "d_real": torch.sigmoid(p.d_real).mean().detach(),
                    "d_rec": torch.sigmoid(p.d_rec).mean().detach(),
                    "d_prior": torch.sigmoid(p.d_prior).mean().detach()}
        return {"loss": gan_discriminator_loss(p.c_prior, p.c_codes),
                "c_prior": torch.sigmoid(p.c_prior).mean().detach(),
                "c_codes": torch.sigmoid(p.c_codes).mean().detach()}

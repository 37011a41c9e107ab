"""VAE-GAN (Larsen, Sønderby, Larochelle & Winther 2016, "Autoencoding beyond pixels using a learned
similarity metric", Algorithm 1).

A VAE whose decoder is also a GAN's generator, and whose element-wise reconstruction error is replaced by
a Gaussian error in the feature space of a hidden layer l of the discriminator (equation 6):

    p(Dis_l(x) | z) = N(Dis_l(x) | Dis_l(x~), sigma^2 I),    x~ = Dec(z),  z ~ q(z|x) = Enc(x)
    L_llike = -E_q[log p(Dis_l(x) | z)] = 1/2 ||(Dis_l(x) - Dis_l(x~)) / sigma||^2 + const    (the paper: sigma = 1)
    L_prior = KL(q(z|x) || p(z)),  p(z) = N(0, I)
    L_GAN   = log Dis(x) + log(1 - Dis(x~)) + log(1 - Dis(Dec(z_p))),  z_p ~ p(z)     (equation 7)

For each minibatch X (Algorithm 1): z ~ Enc(X), X~ = Dec(z), z_p ~ p(z), X_p = Dec(z_p) and Dis on X, X~ and
X_p are computed once (``step.shared``), then each network is updated by the terms the paper routes to it:

    Enc:  descend  L_prior + L_llike
    Dec:  descend  gamma * L_llike - L_GAN    (non-saturating: -log Dis(x~) - log Dis(x_p) for -L_GAN)
    Dis:  ascend   L_GAN                      (on real x, reconstructions x~ and prior samples x_p)

``rec=pixels`` puts the Gaussian error on the pixels instead, 1/2 ||(x - x~) / sigma||^2 (an ordinary VAE
reconstruction term, with the same GAN terms): the baseline of the paper's comparison. Dis_l is the last
hidden layer of D (``nets.FeatureCritic``): the flattened feature map of the last DCGAN convolution, or the
last hidden layer of the MLP. Terms are summed over latent, feature or pixel dimensions and averaged over
the batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import torch
import torch.nn.functional as F

from ..config import check
from ..data.base import Batch
from ..losses import gan_generator_loss, gaussian_kl_std_normal, half_squared_error
from ..nets import CriticOutput, FeatureCritic, reparameterize
from ..registry import MODELS
from .base import Phase, Player, Step
from .hybrid import AutoencodingGAN, HybridConfig
from .image_presets import GAN_IMAGES


@dataclass
class VAEGANConfig(HybridConfig):
    rec: Literal["features", "pixels"] = "features"  # where the Gaussian reconstruction error is measured
    gamma: float = 1.0  # weight of L_llike against the GAN loss in the decoder's update
    sigma: float = 1.0  # standard deviation of the Gaussian on D's features (the paper: 1; the 256 features
    #                     of an MLP's D on 8x8 digits weigh little against the KL: sigma=0.1 reconstructs better)
    pixel_sigma: float = 0.1  # rec=pixels: standard deviation of the Gaussian on the pixels

    def __post_init__(self):
        super().__post_init__()
        check(self.gamma >= 0, "gamma", "must be >= 0")
        check(self.sigma > 0, "sigma", "must be > 0")
        check(self.pixel_sigma > 0, "pixel_sigma", "must be > 0")


@dataclass
class VAEGANPass:
    """What the three updates of one minibatch share."""

    kl: torch.Tensor  # L_prior, averaged over the batch
    llike: torch.Tensor  # L_llike, averaged over the batch
    real: CriticOutput  # Dis(x)
    rec: CriticOutput  # Dis(x~)
    prior: CriticOutput  # Dis(x_p)


@MODELS.register("vaegan")
class VAEGAN(AutoencodingGAN):
    Config = VAEGANConfig
    description = ("VAE-GAN (Larsen et al. 2016): VAE whose reconstruction error lives in D's features; "
                   "rec=features|pixels")
    presets = {"points": {"model": {"latent_dim": 2, "lr_g": 1e-3, "lr_d": 1e-3}},
               "image-28": GAN_IMAGES, "image-32": GAN_IMAGES}

    def stochastic(self) -> bool:
        return True

    def build_critics(self, net: str, batchnorm: bool) -> None:
        self.discriminator = FeatureCritic(net, self.info.shape, self.cfg.hidden, self.cfg.width, batchnorm)

    def players(self) -> dict[str, Player]:
        c = self.cfg
        return {"encoder": Player([self.encoder], self.adam(c.lr_g)),
                "decoder": Player([self.decoder], self.adam(c.lr_g)),
                "disc": Player([self.discriminator], self.adam(c.lr_d))}

    def phases(self) -> list[Phase]:
        return [Phase("encoder"), Phase("decoder", data=False), Phase("disc", data=False)]

    def llike(self, x: torch.Tensor, x_tilde: torch.Tensor, real: Optional[CriticOutput] = None,
              rec: Optional[CriticOutput] = None) -> torch.Tensor:
        """L_llike per example (B,): -log N(Dis_l(x); Dis_l(x~), sigma^2 I) up to a constant, or the pixel
        version; Dis's outputs on x and x~ are computed unless given."""
        if self.cfg.rec == "pixels":
            return half_squared_error(x / self.cfg.pixel_sigma, x_tilde / self.cfg.pixel_sigma)
        real = self.discriminator(x) if real is None else real
        rec = self.discriminator(x_tilde) if rec is None else rec
        return half_squared_error(real.features / self.cfg.sigma, rec.features / self.cfg.sigma)

    def forward_pass(self, x: torch.Tensor) -> VAEGANPass:
        mu, logvar = self.encode(x)
        x_tilde = self.decoder(reparameterize(mu, logvar))
        x_p = self.decoder(self.prior(x.shape[0]))
        real, rec, prior = self.discriminator(x), self.discriminator(x_tilde), self.discriminator(x_p)
        llike = self.llike(x, x_tilde, real, rec).mean()
        return VAEGANPass(gaussian_kl_std_normal(mu, logvar).mean(), llike, real, rec, prior)

    def loss(self, phase: str, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        p = step.shared("pass", lambda: self.forward_pass(batch.x))
        if phase == "encoder":
            return {"loss": p.kl + p.llike, "kl": p.kl.detach(), "llike": p.llike.detach()}
        if phase == "decoder":
            gan = gan_generator_loss(p.rec.logits) + gan_generator_loss(p.prior.logits)
            return {"loss": self.cfg.gamma * p.llike + gan, "dec_gan": gan.detach()}
        # -L_GAN = -log Dis(x) - log(1 - Dis(x~)) - log(1 - Dis(x_p)), each term averaged over the batch
        real, rec, prior = p.real.logits, p.rec.logits, p.prior.logits
        loss = F.softplus(-real).mean() + F.softplus(rec).mean() + F.softplus(prior).mean()
        return {"loss": loss, "d_real": torch.sigmoid(real).mean().detach(),
                "d_rec": torch.sigmoid(rec).mean().detach(), "d_prior": torch.sigmoid(prior).mean().detach()}

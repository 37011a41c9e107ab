"""VAE-GAN (Larsen, Sønderby, Larochelle & Winther 2016, "Autoencoding beyond pixels using a learned
similarity metric", Algorithm 1).

A VAE whose decoder is also a GAN's generator, and whose element-wise reconstruction error is replaced by
a Gaussian error in the feature space of a hidden layer l of the discriminator (equation 6):

    p(Dis_l(x) | z) = N(Dis_l(x) | Dis_l(x~), sigma^2 I),    x~ = Dec(z),  z ~ q(z|x) = Enc(x)
    L_llike = -E_q[log p(Dis_l(x) | z)] = 1/2 ||(Dis_l(x) - Dis_l(x~)) / sigma||^2 + const    (the paper: sigma = 1)
    L_prior = KL(q(z|x) || p(z)),  p(z) = N(0, I)
    L_GAN   = log Dis(x) + log(1 - Dis(x~)) + log(1 - Dis(Dec(z_p))),  z_p ~ p(z)     (equation 7)

For each minibatch X (Algorithm 1; each network is updated only by the terms the paper routes to it):

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
from typing import Literal

import torch
import torch.nn.functional as F

from ..config import check
from ..data.base import Batch
from ..losses import gan_generator_loss, gaussian_kl_std_normal
from ..nets import FeatureCritic
from ..registry import MODELS
from .base import Phase, Player
from .hybrid import AutoencodingGAN, HybridConfig
from .vae import reparameterize


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


def squared_error(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """1/2 ||a - b||^2 per example: (B, ...) -> (B,)."""
    return 0.5 * (a - b).pow(2).flatten(1).sum(1)


@MODELS.register("vaegan")
class VAEGAN(AutoencodingGAN):
    Config = VAEGANConfig
    description = ("VAE-GAN (Larsen et al. 2016): VAE whose reconstruction error lives in D's features; "
                   "rec=features|pixels")
    presets = {"points": {"latent_dim": 2, "lr_g": 1e-3, "lr_d": 1e-3}}

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

    def llike(self, x: torch.Tensor, x_tilde: torch.Tensor) -> torch.Tensor:
        """L_llike per example (B,): -log p(Dis_l(x) | z) up to a constant, or the pixel version."""
        if self.cfg.rec == "pixels":
            return squared_error(x / self.cfg.pixel_sigma, x_tilde / self.cfg.pixel_sigma)
        sigma = self.cfg.sigma
        return squared_error(self.discriminator(x).features / sigma, self.discriminator(x_tilde).features / sigma)

    def loss(self, player: str, batch: Batch) -> dict[str, torch.Tensor]:
        x = batch.x
        mu, logvar = self.encode(x)
        x_tilde = self.decoder(reparameterize(mu, logvar))
        if player == "encoder":
            kl, llike = gaussian_kl_std_normal(mu, logvar).mean(), self.llike(x, x_tilde).mean()
            return {"loss": kl + llike, "kl": kl.detach(), "llike": llike.detach()}
        x_p = self.decoder(self.prior(x.shape[0]))
        if player == "decoder":
            gan = gan_generator_loss(self.discriminator(x_tilde).logits) + \
                gan_generator_loss(self.discriminator(x_p).logits)
            return {"loss": self.cfg.gamma * self.llike(x, x_tilde).mean() + gan, "dec_gan": gan.detach()}
        real = self.discriminator(x).logits
        rec, prior = self.discriminator(x_tilde.detach()).logits, self.discriminator(x_p.detach()).logits
        # -L_GAN = -log Dis(x) - log(1 - Dis(x~)) - log(1 - Dis(x_p)), each term averaged over the batch
        loss = F.softplus(-real).mean() + F.softplus(rec).mean() + F.softplus(prior).mean()
        return {"loss": loss, "d_real": torch.sigmoid(real).mean().detach(),
                "d_rec": torch.sigmoid(rec).mean().detach(), "d_prior": torch.sigmoid(prior).mean().detach()}

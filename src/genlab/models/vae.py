"""Variational autoencoder (Kingma & Welling 2013, "Auto-Encoding Variational Bayes").

Maximizes the evidence lower bound (equation 3 of the paper, with the analytic KL of appendix B):

    ELBO(x) = E_{q(z|x)}[log p(x|z)] - KL(q(z|x) || p(z)),   q(z|x) = N(mu(x), diag sigma^2(x)),  p(z) = N(0, I)

estimated with one reparameterized sample z = mu + sigma * eps, eps ~ N(0, I). Maximizing the ELBO over
data minimizes KL(p_data || p_model) from above: the forward, mode-covering KL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Optional

import torch
from torch import nn

from ..config import check
from ..data.base import Batch, DataInfo
from ..errors import ConfigError
from ..losses import bernoulli_log_prob, gaussian_kl_std_normal, gaussian_log_prob
from ..nets import make_decoder, make_encoder, resolve_net
from ..registry import MODELS
from .base import GenerativeModel, OptimSpec, Player


@dataclass
class VAEConfig:
    latent_dim: int = 20
    net: Literal["auto", "mlp", "conv"] = "auto"  # auto: conv for images >= 16 px, else mlp
    hidden: tuple[int, ...] = (512,)  # MLP hidden sizes (the decoder mirrors them)
    width: int = 32  # conv channels of the first layer
    act: Literal["relu", "tanh", "elu", "lrelu", "softplus"] = "relu"
    likelihood: Literal["auto", "bernoulli", "gaussian"] = "auto"  # auto: bernoulli for images, gaussian for points
    sigma: float = 0.1  # std of the Gaussian likelihood (its initial value with learn_sigma)
    learn_sigma: bool = False  # learn one std per data dimension
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999

    def __post_init__(self):
        check(self.latent_dim >= 1, "latent_dim", "must be >= 1")
        check(self.sigma > 0, "sigma", "must be > 0")
        check(self.lr > 0, "lr", "must be > 0")
        check(all(h >= 1 for h in self.hidden), "hidden", "sizes must be >= 1")


@MODELS.register("vae")
class VAE(GenerativeModel):
    Config = VAEConfig
    description = "variational autoencoder (Kingma & Welling 2013): Bernoulli or Gaussian likelihood, MLP or conv"
    preferred_range = "01"

    def __init__(self, cfg: VAEConfig, info: DataInfo):
        super().__init__(cfg, info)
        self.likelihood = cfg.likelihood
        if self.likelihood == "auto":
            self.likelihood = "gaussian" if info.kind == "points" else "bernoulli"
        if self.likelihood == "bernoulli" and (info.kind == "points" or info.range != "01"):
            raise ConfigError("likelihood=bernoulli needs images in [0, 1]; use likelihood=gaussian or range=01")
        net = resolve_net(cfg.net, info.shape)
        if net == "conv" and info.kind != "image":
            raise ConfigError("net=conv needs image data; use net=mlp")
        self.encoder = make_encoder(net, info.shape, 2 * cfg.latent_dim, cfg.hidden, cfg.width, act=cfg.act)
        self.decoder = make_decoder(net, cfg.latent_dim, info.shape, tuple(reversed(cfg.hidden)), cfg.width,
                                    act=cfg.act)
        log_sigma = torch.full(info.shape, math.log(cfg.sigma))
        if cfg.learn_sigma:
            self.log_sigma = nn.Parameter(log_sigma)
        else:
            self.register_buffer("log_sigma", log_sigma)

    # q(z|x) = N(mu, diag exp(logvar))
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=-1)  # (B, Z) each
        return mu, logvar

    def log_px_given_z(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """log p(x|z) from the decoder output (logits or means): (B,)."""
        if self.likelihood == "bernoulli":
            return bernoulli_log_prob(x, out)
        return gaussian_log_prob(x, out, self.log_sigma)

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        out = self.decoder(z)
        return torch.sigmoid(out) if self.likelihood == "bernoulli" else out

    def players(self) -> dict[str, Player]:
        c = self.cfg
        return {"vae": Player([self], OptimSpec("adam", c.lr, (c.beta1, c.beta2)))}

    def loss(self, player: str, batch: Batch) -> dict[str, torch.Tensor]:
        x = batch.x
        mu, logvar = self.encode(x)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)  # reparameterization
        rec = self.log_px_given_z(x, self.decoder(z))  # (B,)
        kl = gaussian_kl_std_normal(mu, logvar)  # (B,)
        elbo = rec - kl
        return {"loss": -elbo.mean(), "elbo": elbo.mean().detach(), "rec": -rec.mean().detach(),
                "kl": kl.mean().detach()}

    @torch.no_grad()
    def sample(self, n: int, generator: Optional[torch.Generator] = None,
               y: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Images: the decoder's mean; points: a full draw from p(x|z) (the mean alone is a curve)."""
        z = self.randn(n, self.cfg.latent_dim, generator=generator)
        mean = self.decode_mean(z)
        if self.info.kind == "points":
            noise = torch.randn(mean.shape, device=mean.device, generator=generator)
            return mean + noise * self.log_sigma.exp()
        return mean

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode_mean(self.encode(x)[0])

"""Variational autoencoder (Kingma & Welling 2013, "Auto-Encoding Variational Bayes").

Maximizes the evidence lower bound (equation 3 of the paper, with the analytic KL of appendix B):

    ELBO(x) = E_{q(z|x)}[log p(x|z)] - KL(q(z|x) || p(z)),   q(z|x) = N(mu(x), diag sigma^2(x)),  p(z) = N(0, I)

estimated with K reparameterized samples z_k = mu + sigma * eps_k, eps_k ~ N(0, I). Maximizing the ELBO over
data minimizes KL(p_data || p_model) from above: the forward, mode-covering KL.

This file also holds what the whole VAE family shares: one function, ``log_weights``, returns the log
importance weights  lw_k = log p(x, z_k) - log q(z_k | x)  of shape (B, K); the ELBO (mean over k), the
IWAE bound (``iwae.py``), the Renyi bound (``vr.py``) and the NLL estimate (``metrics/likelihood.py``) are
all functions of it (``losses.py``). Variants change one method, ``bound``.

Two stochastic layers (Burda et al. 2015, section 5): q(z1|x) q(z2|z1) and p(z2) p(z1|z2) p(x|z1), with
the IWAE paper's architecture as the preset ``iwae-paper-2`` (784-[200,200]-z1 100-[100,100]-z2 50, tanh).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..config import check
from ..data.base import Batch, DataInfo
from ..errors import ConfigError
from ..losses import (bernoulli_log_prob, diag_gaussian_log_density, elbo_bound, gaussian_kl_std_normal,
                      gaussian_log_prob, laplace_log_prob, std_normal_log_density)
from ..nets import MLP, gaussian_params, make_decoder, make_encoder, reparameterize, resolve_net
from ..registry import MODELS
from .base import GenerativeModel, OptimSpec, Player, Step
from .image_presets import image_presets


@dataclass
class VAEConfig:
    latent_dim: int = 20  # z (z1, the lower layer, with layers=2)
    layers: Literal[1, 2] = 1  # stochastic layers
    latent2_dim: int = 10  # z2, the top layer, with layers=2
    net: Literal["auto", "mlp", "conv"] = "auto"  # x <-> z1 networks; auto: conv for images >= 16 px, else mlp
    hidden: tuple[int, ...] = (512,)  # MLP hidden sizes between x and z1 (the decoder mirrors them)
    hidden2: tuple[int, ...] = (100, 100)  # MLP hidden sizes between z1 and z2 (layers=2)
    width: int = 32  # conv channels of the first layer
    act: Literal["relu", "tanh", "elu", "lrelu", "softplus"] = "relu"  # the MLPs' activation
    likelihood: Literal["auto", "bernoulli", "gaussian", "laplace"] = "auto"  # auto: bernoulli for images,
    #                                                                   gaussian for points; laplace = L1 loss
    sigma: float = 0.1  # scale of the Gaussian / Laplace likelihood (its initial value with learn_sigma)
    learn_sigma: bool = False  # learn one scale per data dimension
    k: int = 1  # samples of z per data point in training (the VAE averages their ELBO estimates)
    kl: Literal["auto", "analytic", "mc"] = "auto"  # KL term: auto = analytic with one stochastic layer
    lr: float = 1e-3  # Adam's step size
    beta1: float = 0.9  # Adam's first-moment decay
    beta2: float = 0.999  # Adam's second-moment decay
    adam_eps: float = 1e-8  # Adam's epsilon

    def __post_init__(self):
        check(self.latent_dim >= 1, "latent_dim", "must be >= 1")
        check(self.latent2_dim >= 1, "latent2_dim", "must be >= 1")
        check(self.sigma > 0, "sigma", "must be > 0")
        check(self.k >= 1, "k", "must be >= 1")
        check(self.lr > 0, "lr", "must be > 0")
        check(self.adam_eps > 0, "adam_eps", "must be > 0")
        check(all(h >= 1 for h in self.hidden + self.hidden2), "hidden", "sizes must be >= 1")
        check(not (self.kl == "analytic" and self.layers == 2), "kl",
              "analytic needs layers=1 (the KL of two stochastic layers is estimated: use kl=mc or auto)")


# The IWAE paper's protocol (Burda et al. 2015, section 5 and its code), one preset per number of layers.
def _iwae_paper(layers: int) -> dict:
    arch = ({"hidden": (200, 200), "latent_dim": 50} if layers == 1 else
            {"hidden": (200, 200), "latent_dim": 100, "hidden2": (100, 100), "latent2_dim": 50})
    return {
        "model": {"layers": layers, "net": "mlp", "act": "tanh", "likelihood": "bernoulli", "lr": 1e-3,
                  "beta1": 0.9, "beta2": 0.999, "adam_eps": 1e-4, **arch},
        "train": {"batch_size": 20, "epochs": 3280, "lr_schedule": "iwae"},
        "data": {"binarize": "dynamic"},
    }


VAE_PRESETS = {"iwae-paper": _iwae_paper(1), "iwae-paper-2": _iwae_paper(2), **image_presets("vae")}


@dataclass
class Terms:
    """Per-sample terms of the bound, shape (B, K); kl is (B, 1) when computed analytically."""

    log_px: torch.Tensor  # log p(x | z_k)
    kl: torch.Tensor  # log q(z_k | x) - log p(z_k), or the analytic KL

    @property
    def lw(self) -> torch.Tensor:
        """Log importance weights log p(x, z_k) - log q(z_k | x): (B, K)."""
        return self.log_px - self.kl


@MODELS.register("vae")
class VAE(GenerativeModel):
    Config = VAEConfig
    description = ("variational autoencoder (Kingma & Welling 2013): Bernoulli/Gaussian/Laplace, MLP or conv, "
                   "1 or 2 stochastic layers")
    preferred_range = "01"
    named_presets = VAE_PRESETS

    def __init__(self, cfg: VAEConfig, info: DataInfo):
        super().__init__(cfg, info)
        self.likelihood = cfg.likelihood
        if self.likelihood == "auto":
            self.likelihood = "gaussian" if info.kind == "points" else "bernoulli"
        if self.likelihood == "bernoulli" and (info.kind == "points" or info.range != "01"):
            raise ConfigError("likelihood=bernoulli needs images in [0, 1]; use likelihood=gaussian or range=01")
        net = resolve_net(cfg.net, info.shape)
        self.analytic_kl = cfg.kl == "analytic" or (cfg.kl == "auto" and cfg.layers == 1)
        self.resolved = {"net": net, "likelihood": self.likelihood, "kl": "analytic" if self.analytic_kl else "mc"}
        self.n_classes = info.num_classes if self.conditional else 0
        z1, z2 = cfg.latent_dim, cfg.latent2_dim
        self.encoder = make_encoder(net, info.shape, 2 * z1, cfg.hidden, cfg.width, act=cfg.act)
        self.decoder = make_decoder(net, z1 + self.n_classes, info.shape, tuple(reversed(cfg.hidden)), cfg.width,
                                    act=cfg.act)
        if self.conditional:  # q(z|x, y): the label shifts the encoder's output (a linear head on [h(x), y])
            self.label_encoder = nn.Linear(self.n_classes, 2 * z1, bias=False)
        if cfg.layers == 2:
            self.encoder2 = MLP((z1,), (*cfg.hidden2, 2 * z2), act=cfg.act)  # q(z2 | z1)
            self.decoder2 = MLP((z2,), (*reversed(cfg.hidden2), 2 * z1), act=cfg.act)  # p(z1 | z2)
        log_sigma = torch.full(info.shape, math.log(cfg.sigma))
        if cfg.learn_sigma:
            self.log_sigma = nn.Parameter(log_sigma)
        else:
            self.register_buffer("log_sigma", log_sigma)

    # ------------------------------------------------------------------------------------------------
    # the networks

    def one_hot(self, y: Optional[torch.Tensor]) -> Optional[torch.Tensor]:
        if not self.conditional:
            return None
        if y is None:
            raise ConfigError(f"{type(self).__name__} needs class labels")
        return F.one_hot(y.long(), self.n_classes).float()

    def encode(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z1 | x) = N(mu, diag exp(logvar)): (B, Z1) each."""
        h = self.encoder(x)
        if self.conditional:
            h = h + self.label_encoder(self.one_hot(y))
        return gaussian_params(h)

    def decode(self, z1: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Decoder output (logits or means) for z1 (..., Z1) -> (..., *shape)."""
        lead = z1.shape[:-1]
        z1 = z1.reshape(-1, z1.shape[-1])
        if self.conditional:
            onehot = self.one_hot(y)  # (B, C), broadcast over the samples of each data point
            onehot = onehot.repeat_interleave(z1.shape[0] // onehot.shape[0], dim=0)
            z1 = torch.cat([z1, onehot], dim=-1)
        return self.decoder(z1).view(*lead, *self.info.shape)

    def log_px_given_z(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """log p(x | z) from the decoder output; x (B, 1, *shape) broadcasts against out (B, K, *shape)."""
        ev = len(self.info.shape)
        if self.likelihood == "bernoulli":
            return bernoulli_log_prob(x, out, ev)
        if self.likelihood == "laplace":
            return laplace_log_prob(x, out, self.log_sigma, ev)
        return gaussian_log_prob(x, out, self.log_sigma, ev)

    def decode_mean(self, z1: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        out = self.decode(z1, y)
        return torch.sigmoid(out) if self.likelihood == "bernoulli" else out

    # ------------------------------------------------------------------------------------------------
    # the shared maths: log importance weights

    def terms(self, x: torch.Tensor, k: int, y: Optional[torch.Tensor] = None, analytic_kl: bool = False,
              generator: Optional[torch.Generator] = None, stop_q_grad: bool = False,
              z_hook=None) -> Terms:
        """log p(x | z_k) and log q(z_k | x) - log p(z_k) for K samples per data point: (B, K) each.

        analytic_kl: the closed-form KL instead of its one-sample estimate (one stochastic layer only).
        stop_q_grad: q's parameters enter log q(z|x) without a gradient (only through z), as the
        doubly-reparameterized gradient needs; z_hook is registered on z (B, K, Z1) for the same purpose.
        """
        mu1, lv1 = self.encode(x, y)  # (B, Z1)
        z1 = reparameterize(mu1, lv1, k, generator)  # (B, K, Z1)
        if z_hook is not None and z1.requires_grad:
            z1.register_hook(z_hook)
        if analytic_kl:
            kl = gaussian_kl_std_normal(mu1, lv1).unsqueeze(1)  # (B, 1)
        else:
            qm, qv = (mu1.detach(), lv1.detach()) if stop_q_grad else (mu1, lv1)
            log_q = diag_gaussian_log_density(z1, qm.unsqueeze(1), qv.unsqueeze(1))  # (B, K)
            if self.cfg.layers == 2:
                mu2, lv2 = gaussian_params(self.encoder2(z1.reshape(-1, z1.shape[-1])).view(*z1.shape[:2], -1))
                z2 = mu2 + torch.randn(mu2.shape, device=mu2.device, generator=generator) * torch.exp(0.5 * lv2)
                qm2, qv2 = (mu2.detach(), lv2.detach()) if stop_q_grad else (mu2, lv2)
                log_q = log_q + diag_gaussian_log_density(z2, qm2, qv2)
                pm, pv = gaussian_params(self.decoder2(z2.reshape(-1, z2.shape[-1])).view(*z1.shape[:2], -1))
                log_p = std_normal_log_density(z2) + diag_gaussian_log_density(z1, pm, pv)
            else:
                log_p = std_normal_log_density(z1)
            kl = log_q - log_p
        log_px = self.log_px_given_z(x.unsqueeze(1), self.decode(z1, y))  # (B, K)
        return Terms(log_px, kl)

    def log_weights(self, x: torch.Tensor, k: int, y: Optional[torch.Tensor] = None,
                    generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """log p(x, z_k) - log q(z_k | x), z_k ~ q(z | x): (B, K). The one function the bounds share."""
        return self.terms(x, k, y, generator=generator).lw

    def bound(self, t: Terms, step: Step) -> torch.Tensor:
        """The training objective per data point (B,) at `step`: here the ELBO, averaged over the K samples."""
        return elbo_bound(t.log_px) - t.kl.mean(-1)

    # ------------------------------------------------------------------------------------------------
    # the contract

    def players(self) -> dict[str, Player]:
        c = self.cfg
        return {"vae": Player([self], OptimSpec("adam", c.lr, (c.beta1, c.beta2), eps=c.adam_eps))}

    def loss(self, phase: str, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        t = self.terms(batch.x, self.cfg.k, batch.y, analytic_kl=self.analytic_kl)
        bound = self.bound(t, step)
        return {"loss": -bound.mean(), "bound": bound.mean().detach(), "rec": -t.log_px.mean().detach(),
                "kl": t.kl.mean().detach()}

    def sample_latent(self, n: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """z1 from the prior (through p(z1 | z2) with two layers): (n, Z1)."""
        if self.cfg.layers == 2:
            z2 = self.randn(n, self.cfg.latent2_dim, generator=generator)
            pm, pv = gaussian_params(self.decoder2(z2))
            return pm + torch.randn(pm.shape, device=pm.device, generator=generator) * torch.exp(0.5 * pv)
        return self.randn(n, self.cfg.latent_dim, generator=generator)

    @torch.no_grad()
    def sample(self, n: int, generator: Optional[torch.Generator] = None,
               y: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Images: the decoder's mean; points: a full draw from p(x|z) (the mean alone is a curve)."""
        y = self.labels(n, generator, y) if self.conditional else None
        mean = self.decode_mean(self.sample_latent(n, generator), y)
        if self.info.kind == "points":
            scale = self.log_sigma.exp()
            if self.likelihood == "laplace":
                u = torch.rand(mean.shape, device=mean.device, generator=generator) - 0.5
                return mean - scale * u.sign() * torch.log1p(-2 * u.abs())
            return mean + torch.randn(mean.shape, device=mean.device, generator=generator) * scale
        return mean

    @torch.no_grad()
    def posterior_mean(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> dict[str, torch.Tensor]:
        """E_q[z | x] per stochastic layer: {"z1": (B, Z1)} and with two layers "z2" (B, Z2), the latter
        estimated with 16 samples of z1."""
        mu1, lv1 = self.encode(x, y)
        out = {"z1": mu1}
        if self.cfg.layers == 2:
            z1 = reparameterize(mu1, lv1, 16)
            mu2, _ = gaussian_params(self.encoder2(z1.reshape(-1, z1.shape[-1])).view(*z1.shape[:2], -1))
            out["z2"] = mu2.mean(1)
        return out

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.decode_mean(self.encode(x, y)[0], y)

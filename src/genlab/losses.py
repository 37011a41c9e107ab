"""Pure functions for the losses and divergences the models share. Shapes in comments: B batch, D dims."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOG_2PI = math.log(2 * math.pi)


def gaussian_kl_std_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL( N(mu, diag(exp(logvar))) || N(0, I) ) summed over the last dim: (B, D) -> (B,)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


def gaussian_log_prob(x: torch.Tensor, mu: torch.Tensor, log_sigma: torch.Tensor | float) -> torch.Tensor:
    """log N(x; mu, sigma^2) summed over all but the first dim: (B, ...) -> (B,)."""
    log_sigma = torch.as_tensor(log_sigma, dtype=x.dtype, device=x.device)
    lp = -0.5 * ((x - mu) * torch.exp(-log_sigma)).pow(2) - log_sigma - 0.5 * LOG_2PI
    return lp.flatten(1).sum(-1)


def bernoulli_log_prob(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """log Bernoulli(x; sigmoid(logits)) summed over all but the first dim; x may be in [0, 1]."""
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(-1)


# ----------------------------------------------------------------------------------------------------
# GAN losses on discriminator logits (D(x) = sigmoid(logit)).


def gan_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-E[log D(x)] - E[log(1 - D(G(z)))], the discriminator's side of the minimax game."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def gan_generator_loss(fake_logits: torch.Tensor, kind: str = "ns") -> torch.Tensor:
    """Generator loss: 'ns' (non-saturating) -E[log D(G(z))]; 'minimax' E[log(1 - D(G(z)))]."""
    if kind == "ns":
        return F.softplus(-fake_logits).mean()
    if kind == "minimax":
        return -F.softplus(fake_logits).mean()
    raise ValueError(f"unknown generator loss {kind!r}")

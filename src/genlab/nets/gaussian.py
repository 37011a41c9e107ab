"""The Gaussian head of an encoder and the reparameterization trick (Kingma & Welling 2013, section 2.4)."""

from __future__ import annotations

from typing import Optional

import torch


def gaussian_params(h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A network output (..., 2Z) split into mean and log-variance (..., Z) each."""
    mu, logvar = h.chunk(2, dim=-1)
    return mu, logvar


def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, k: Optional[int] = None,
                   generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """z = mu + sigma * eps, eps ~ N(0, I); with k, mu (B, Z) -> z (B, K, Z)."""
    if k is not None:
        mu, logvar = mu.unsqueeze(1), logvar.unsqueeze(1)
        shape = (mu.shape[0], k, mu.shape[-1])
    else:
        shape = mu.shape
    eps = torch.randn(shape, device=mu.device, dtype=mu.dtype, generator=generator)
    return mu + eps * torch.exp(0.5 * logvar)

"""The linear Gaussian latent-variable model, where everything a VAE estimates is known exactly.

    p(z) = N(0, I_d),   p(x | z) = N(W z + b, s^2 I_D)
    p(x) = N(b, W W^T + s^2 I)                                   (the exact log-likelihood)
    p(z | x) = N(m, S),  S = (I + W^T W / s^2)^-1,  m = S W^T (x - b) / s^2

An encoder of the VAE's family, a diagonal Gaussian q(z) = N(mu, diag sigma^2), cannot hold the posterior's
correlations; the best one in KL(q || p(z|x)) has mu = m and sigma_i^2 = 1 / (S^-1)_ii (``mean_field``),
and its ELBO falls short of log p(x) by that KL. The ELBO of any such q is closed-form (``elbo``), and so is
its gradient, which ``gradients`` checks the estimators against. Float64 throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..losses import LOG_2PI, diag_gaussian_log_density, std_normal_log_density


@dataclass(frozen=True)
class LinearGaussian:
    W: torch.Tensor  # (D, d)
    b: torch.Tensor  # (D,)
    noise: float  # s

    @classmethod
    def example(cls, seed: int = 0, x_dim: int = 8, z_dim: int = 2, noise: float = 0.5) -> "LinearGaussian":
        """A fixed random model: W and b with N(0, 1) entries."""
        gen = torch.Generator().manual_seed(seed)
        W = torch.randn(x_dim, z_dim, generator=gen, dtype=torch.float64)
        return cls(W, torch.randn(x_dim, generator=gen, dtype=torch.float64), noise)

    @classmethod
    def example_point(cls, seed: int = 0) -> tuple["LinearGaussian", torch.Tensor]:
        """``example(seed)`` and one x drawn from it (with seed + 1): what the explainers look at."""
        model = cls.example(seed)
        return model, model.sample_x(torch.Generator().manual_seed(seed + 1))

    @property
    def z_dim(self) -> int:
        return self.W.shape[1]

    def sample_x(self, generator: torch.Generator) -> torch.Tensor:
        """One x ~ p(x): (D,)."""
        z = torch.randn(self.z_dim, generator=generator, dtype=torch.float64)
        return self.W @ z + self.b + self.noise * torch.randn(self.b.shape, generator=generator, dtype=torch.float64)

    def log_joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x, z) = log p(z) + log p(x | z) for z of shape (..., d): (...)."""
        mean = z @ self.W.T + self.b  # (..., D)
        log_lik = -0.5 * (((x - mean) / self.noise).pow(2) + LOG_2PI).sum(-1) - x.shape[-1] * math.log(self.noise)
        return std_normal_log_density(z) + log_lik

    def log_marginal(self, x: torch.Tensor) -> float:
        """The exact log p(x)."""
        cov = self.W @ self.W.T + self.noise ** 2 * torch.eye(len(self.b), dtype=torch.float64)
        return torch.distributions.MultivariateNormal(self.b, cov).log_prob(x).item()

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The exact p(z | x) = N(m, S): m (d,), S (d, d)."""
        precision = torch.eye(self.z_dim, dtype=torch.float64) + self.W.T @ self.W / self.noise ** 2
        S = torch.linalg.inv(precision)
        return S @ self.W.T @ (x - self.b) / self.noise ** 2, S

    def mean_field(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The best diagonal Gaussian q in KL(q || p(z|x)): its mean m and log standard deviations (d,)."""
        m, S = self.posterior(x)
        return m, -0.5 * torch.log(torch.diag(torch.linalg.inv(S)))

    def elbo(self, x: torch.Tensor, mu: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
        """The exact ELBO E_q[log p(x, z) - log q(z)] of q = N(mu, diag exp(2 log_std)), differentiable."""
        var = torch.exp(2 * log_std)
        resid = x - self.W @ mu - self.b
        log_lik = (-0.5 * (resid.pow(2).sum() + (self.W.pow(2) @ var).sum()) / self.noise ** 2
                   - len(x) * (math.log(self.noise) + 0.5 * LOG_2PI))
        log_prior = -0.5 * (mu.pow(2).sum() + var.sum()) - 0.5 * self.z_dim * LOG_2PI
        entropy = (log_std + 0.5 * (1 + LOG_2PI)).sum()
        return log_lik + log_prior + entropy

    def log_weights(self, x: torch.Tensor, mu: torch.Tensor, log_std: torch.Tensor, shape: tuple[int, ...],
                    generator: torch.Generator) -> torch.Tensor:
        """lw = log p(x, z) - log q(z) for z ~ q = N(mu, diag exp(2 log_std)), of the given shape, e.g. (R, K)."""
        z = mu + torch.exp(log_std) * torch.randn(*shape, self.z_dim, generator=generator, dtype=torch.float64)
        return self.log_joint(x, z) - diag_gaussian_log_density(z, mu, 2 * log_std)

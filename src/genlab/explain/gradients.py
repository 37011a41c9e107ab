"""`genlab explain gradients`: two unbiased estimators of the ELBO's gradient in the encoder's parameters
phi = (mu, log sigma) of q(z) = N(mu, diag sigma^2), and how much they scatter.

    ELBO(phi) = E_q[f(z)],  f(z) = log p(x, z) - log q(z)

- score function (REINFORCE, Williams 1992): grad = E_q[f(z) grad_phi log q(z)], needing only values of f;
  with a baseline b that does not depend on z_k, E[(f(z_k) - b) grad log q(z_k)] is the same gradient; here
  b is the mean of f over the other K - 1 samples (leave-one-out, so still unbiased);
- reparameterization (Kingma & Welling 2013): z = mu + sigma * eps, grad = E_eps[grad_phi f(mu + sigma eps)],
  which uses the gradient of f in z.

Each estimate averages K samples. On the linear Gaussian model the ELBO is closed-form, so its exact
gradient (autograd of ``LinearGaussian.elbo``) is known: every estimator's mean matches it, and their
variances differ by orders of magnitude: reparameterized < score function with a baseline < without.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

from . import EXPLAINERS, Explainer, common_arguments, repeats_argument

if TYPE_CHECKING:
    import torch

    from .linear_gaussian import LinearGaussian

KS = (2, 4, 8, 16, 64, 256)
HIST_K = 16  # the K of the histogram
ESTIMATORS = ("score function", "score function + baseline", "reparameterized")


def exact_gradient(model: LinearGaussian, x: torch.Tensor, mu: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """grad of the closed-form ELBO in (mu, log sigma): (2d,)."""
    import torch

    phi = torch.cat([mu, log_std]).requires_grad_(True)
    d = len(mu)
    (g,) = torch.autograd.grad(model.elbo(x, phi[:d], phi[d:]), phi)
    return g


def gradient_estimates(model: LinearGaussian, x: torch.Tensor, mu: torch.Tensor, log_std: torch.Tensor, k: int,
                       repeats: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """`repeats` estimates of the gradient from K samples each, per estimator: (R, 2d) each."""
    import torch

    sigma = torch.exp(log_std)
    eps = torch.randn(repeats, k, len(mu), generator=generator, dtype=torch.float64)  # (R, K, d)
    z = (mu + sigma * eps).requires_grad_(True)
    log_q = (-0.5 * eps.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)  # log q(z) (R, K)
    log_joint = model.log_joint(x, z)
    (dz,) = torch.autograd.grad(log_joint.sum(), z)  # grad_z log p(x, z) (R, K, d)
    f = (log_joint - log_q).detach()  # (R, K)
    score = torch.cat([eps / sigma, eps.pow(2) - 1], -1)  # grad_phi log q(z) at fixed z (R, K, 2d)
    loo = (f.sum(1, keepdim=True) - f) / (k - 1)  # the mean of f over the other samples (R, K)
    # d f(mu + sigma eps) / d phi: grad_z log p through z, and -log q(z) = sum(log sigma + eps^2 / 2) + const
    pathwise = torch.cat([dz, dz * sigma * eps + 1], -1)
    return {"score function": (f.unsqueeze(-1) * score).mean(1),
            "score function + baseline": ((f - loo).unsqueeze(-1) * score).mean(1),
            "reparameterized": pathwise.mean(1)}


def setting(seed: int) -> tuple[LinearGaussian, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The model, its x, and an encoder away from the optimum (so that the gradient is not zero): the best
    diagonal q's mean moved by 0.5 and its standard deviations scaled by 1.5."""
    from .linear_gaussian import LinearGaussian

    model, x = LinearGaussian.example_point(seed)
    mu, log_std = model.mean_field(x)
    return model, x, mu + 0.5, log_std + math.log(1.5)


def measure(seed: int = 0, ks=KS, repeats: int = 2000) -> dict:
    import torch

    model, x, mu, log_std = setting(seed)
    gen = torch.Generator().manual_seed(seed)
    exact = exact_gradient(model, x, mu, log_std)
    out = {"exact": exact.tolist(), "ks": list(ks), "repeats": repeats, "mean": {}, "se": {}, "variance": {}}
    for k in ks:
        for name, g in gradient_estimates(model, x, mu, log_std, k, repeats, gen).items():
            out["variance"].setdefault(name, []).append(g.var(0).sum().item())  # trace of the covariance
            out["mean"].setdefault(name, []).append(g.mean(0).tolist())
            out["se"].setdefault(name, []).append((g.std(0) / math.sqrt(repeats)).tolist())
            if k == HIST_K:
                out.setdefault("samples", {})[name] = g[:, 0].tolist()  # d ELBO / d mu_1, for the histogram
    return out


def run(args: argparse.Namespace) -> dict:
    r = measure(args.seed, repeats=args.repeats)
    d = len(r["exact"]) // 2
    names = [f"mu_{i + 1}" for i in range(d)] + [f"log sigma_{i + 1}" for i in range(d)]
    print("exact gradient of the ELBO: " + ", ".join(f"{n} {g:.4f}" for n, g in zip(names, r["exact"])))
    k0 = r["ks"][0]
    for name in ESTIMATORS:
        mean, se = r["mean"][name][0], r["se"][name][0]
        print(f"{name} (K = {k0}, mean ± SE of {r['repeats']}): "
              + ", ".join(f"{m:.3f} ± {s:.3f}" for m, s in zip(mean, se)))
    print("total variance of one estimate (trace of its covariance):")
    print(f"{'K':>5} | " + " | ".join(f"{n:>26}" for n in ESTIMATORS))
    for i, k in enumerate(r["ks"]):
        print(f"{k:>5} | " + " | ".join(f"{r['variance'][n][i]:>26.4g}" for n in ESTIMATORS))
    path = plot(Path(args.out) / "gradients.png", r)
    print(f"wrote {path}")
    return r


def plot(path: Path, r: dict) -> Path:
    import numpy as np

    from ..plots import _pyplot, _save

    plt = _pyplot()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    colors = dict(zip(ESTIMATORS, ("tab:red", "tab:orange", "tab:blue")))
    samples = {n: np.array(v) for n, v in r["samples"].items()}
    lo, hi = np.percentile(samples["score function"], [0.5, 99.5])
    bins = np.linspace(lo, hi, 60)
    for n in ESTIMATORS:
        ax.hist(samples[n], bins=bins, color=colors[n], histtype="step", lw=1.6, density=True, label=n)
    ax.axvline(r["exact"][0], color="k", ls="--", lw=1.2, label=f"exact = {r['exact'][0]:.2f}")
    ax.set_yscale("log")
    ax.set_xlabel("estimate of d ELBO / d mu_1")
    ax.set_ylabel("density (log scale)")
    ax.set_title(f"{r['repeats']} estimates from K = {HIST_K} samples each", fontsize=10)
    ax.legend(fontsize=8)
    ks = np.array(r["ks"])
    for n in ESTIMATORS:
        ax2.plot(ks, r["variance"][n], "o-", color=colors[n], lw=1.5, ms=4, label=n)
    ax2.set_xscale("log", base=2)
    ax2.set_yscale("log")
    ax2.set_xlabel("K (samples per estimate)")
    ax2.set_ylabel("total variance of the estimate")
    ax2.set_title("Variance of the estimate against K", fontsize=10)
    ax2.legend(fontsize=8)
    for a in (ax, ax2):
        a.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def add_arguments(p: argparse.ArgumentParser) -> None:
    common_arguments(p)
    repeats_argument(p, 2000, "estimates per K and estimator")


EXPLAINERS.add("gradients", Explainer(
    "score-function (REINFORCE) against reparameterized gradients of the ELBO: their variance, a baseline's "
    "effect, checked against the exact gradient", add_arguments, run))

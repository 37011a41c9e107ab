"""`genlab explain importance-sampling`: log p(x) estimated by importance sampling, with the prior as the
proposal against an encoder's q, as the number of samples K grows (the NLL estimate of the VAE papers).

    log p(x) ~ log (1/K) sum_k p(x, z_k) / r(z_k),   z_k ~ r        (``losses.iwae_bound`` of the log weights)

Both proposals give the log of an unbiased estimate of p(x), so both converge to log p(x) as K grows, from
below (Jensen). Sampling the prior r = p(z) wastes almost every draw where p(z | x) is narrow: its
estimate is far below log p(x) at small K and spread widely; the encoder's q (here the best diagonal
Gaussian, as a trained VAE encoder approximates it) puts its draws where the posterior is. On the linear
Gaussian model the exact log p(x) is known, so the figure shows both estimates, mean and spread over
repeated estimates, converging to it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from . import EXPLAINERS, Explainer, common_arguments, repeats_argument

if TYPE_CHECKING:
    import torch

    from .linear_gaussian import LinearGaussian

KS = (1, 4, 16, 64, 256, 1024, 4096)


def estimates(model: LinearGaussian, x: torch.Tensor, ks=KS, repeats: int = 200, seed: int = 0) -> dict:
    """Mean and standard deviation over `repeats` estimates of log p(x) at each K, per proposal."""
    import torch

    from ..losses import iwae_bound

    gen = torch.Generator().manual_seed(seed)
    mu_q, log_std_q = model.mean_field(x)
    proposals = {"prior": (torch.zeros_like(mu_q), torch.zeros_like(log_std_q)), "encoder q": (mu_q, log_std_q)}
    out = {"exact": model.log_marginal(x), "ks": list(ks)}
    for name, (mu, log_std) in proposals.items():
        rows = []
        for k in ks:
            est = iwae_bound(model.log_weights(x, mu, log_std, (repeats, k), gen))  # (R,)
            rows.append((est.mean().item(), est.std().item()))
        out[name] = rows
    return out


def run(args: argparse.Namespace) -> dict:
    from .linear_gaussian import LinearGaussian

    model, x = LinearGaussian.example_point(args.seed)
    r = estimates(model, x, repeats=args.repeats, seed=args.seed)
    print(f"linear Gaussian model (x in R^{len(x)}, z in R^{model.z_dim}, noise {model.noise:g}); exact log p(x) = "
          f"{r['exact']:.4f}")
    print(f"{'K':>6} | {'prior: mean':>12} {'std':>8} | {'encoder q: mean':>16} {'std':>8}")
    for i, k in enumerate(r["ks"]):
        (pm, ps), (qm, qs) = r["prior"][i], r["encoder q"][i]
        print(f"{k:>6} | {pm:>12.4f} {ps:>8.4f} | {qm:>16.4f} {qs:>8.4f}")
    path = plot(Path(args.out) / "importance-sampling.png", r, args.repeats)
    print(f"wrote {path}")
    return r


def plot(path: Path, r: dict, repeats: int) -> Path:
    """Left: the estimates (mean ± 1 std) against K with the exact log p(x); right: their spread, log-log."""
    import numpy as np

    from ..plots import _pyplot, _save

    plt = _pyplot()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    ks = np.array(r["ks"])
    for name, color in (("prior", "tab:red"), ("encoder q", "tab:blue")):
        mean, std = np.array(r[name]).T
        ax.plot(ks, mean, "o-", color=color, lw=1.5, ms=4, label=f"proposal: {name}")
        ax.fill_between(ks, mean - std, mean + std, color=color, alpha=0.2)
        ax2.plot(ks, std, "o-", color=color, lw=1.5, ms=4, label=f"proposal: {name}")
    ax.axhline(r["exact"], color="k", ls="--", lw=1.2, label=f"exact log p(x) = {r['exact']:.2f}")
    ax.set_ylabel("estimate of log p(x)")
    ax.set_title(f"Estimates: mean ± 1 std over {repeats} repeats", fontsize=10)
    ax2.set_yscale("log")
    ax2.set_ylabel("std of the estimate")
    ax2.set_title("Spread of the estimate", fontsize=10)
    for a in (ax, ax2):
        a.set_xscale("log", base=2)
        a.set_xlabel("K (samples per estimate)")
        a.legend(fontsize=8, loc="lower right" if a is ax else "upper right")
        a.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def add_arguments(p: argparse.ArgumentParser) -> None:
    common_arguments(p)
    repeats_argument(p, 200, "estimates per K and proposal")


EXPLAINERS.add("importance-sampling", Explainer(
    "log p(x) by sampling the prior against sampling an encoder's q, as K grows, on a model with exact log p(x)",
    add_arguments, run))

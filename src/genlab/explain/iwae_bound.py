"""`genlab explain iwae-bound`: the importance-weighted bound (Burda et al. 2015) rising with K toward log p(x).

    L_K = E[ log (1/K) sum_k p(x, z_k) / q(z_k) ],   z_k ~ q,      L_1 = ELBO <= L_K <= L_{K+1} <= log p(x)

(Burda et al., Theorem 1; ``losses.iwae_bound`` of the log weights, the function genlab's IWAE trains with).
On the linear Gaussian model the ends are exact: L_1 is the closed-form ELBO, log p(x) - L_1 =
KL(q || p(z | x)), and L_K tends to log p(x). Two encoders are shown: the best diagonal Gaussian (a small
gap, from the posterior's correlation alone) and a poorer one, its mean moved by one posterior standard
deviation and its standard deviations doubled, as an undertrained encoder: its gap is larger and K closes
more of it.
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

KS = (1, 2, 4, 8, 16, 64, 256, 1024, 4096)


def encoders(model: LinearGaussian, x: torch.Tensor) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    import torch

    mu, log_std = model.mean_field(x)
    _, S = model.posterior(x)
    return {"best diagonal q": (mu, log_std),
            "poorer q (mean + 1 posterior std, std x 2)": (mu + torch.sqrt(torch.diag(S)), log_std + math.log(2.0))}


def bounds(model: LinearGaussian, x: torch.Tensor, ks=KS, repeats: int = 400, seed: int = 0) -> dict:
    """Per encoder: its exact ELBO and, per K, the mean and standard error of L_K over `repeats` estimates."""
    import torch

    from ..losses import iwae_bound

    gen = torch.Generator().manual_seed(seed)
    out = {"exact": model.log_marginal(x), "ks": list(ks), "encoders": {}}
    for name, (mu, log_std) in encoders(model, x).items():
        rows = []
        for k in ks:
            est = iwae_bound(model.log_weights(x, mu, log_std, (repeats, k), gen))  # (R,)
            rows.append((est.mean().item(), est.std().item() / math.sqrt(repeats)))
        out["encoders"][name] = {"elbo": model.elbo(x, mu, log_std).item(), "bounds": rows}
    return out


def run(args: argparse.Namespace) -> dict:
    from .linear_gaussian import LinearGaussian

    model, x = LinearGaussian.example_point(args.seed)
    r = bounds(model, x, repeats=args.repeats, seed=args.seed)
    print(f"linear Gaussian model; exact log p(x) = {r['exact']:.4f}")
    for name, e in r["encoders"].items():
        print(f"{name}: exact ELBO {e['elbo']:.4f} (gap KL(q || p(z|x)) = {r['exact'] - e['elbo']:.4f})")
        for k, (m, se) in zip(r["ks"], e["bounds"]):
            print(f"  K = {k:>4}: L_K = {m:.4f} ± {se:.4f}   (log p(x) - L_K = {r['exact'] - m:.4f})")
    path = plot(Path(args.out) / "iwae-bound.png", r, args.repeats)
    print(f"wrote {path}")
    return r


def plot(path: Path, r: dict, repeats: int) -> Path:
    import numpy as np

    from ..plots import _pyplot, _save

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.6, 4.3), dpi=110)
    ks = np.array(r["ks"])
    for (name, e), color in zip(r["encoders"].items(), ("tab:blue", "tab:orange")):
        mean, se = np.array(e["bounds"]).T
        ax.errorbar(ks, mean, yerr=2 * se, fmt="o-", color=color, lw=1.5, ms=4, capsize=2, label=f"L_K, {name}")
        ax.plot([1], [e["elbo"]], marker="*", ms=12, color=color, ls="none")
    ax.plot([], [], marker="*", ms=10, color="0.4", ls="none", label="exact ELBO (closed form)")
    ax.axhline(r["exact"], color="k", ls="--", lw=1.2, label=f"exact log p(x) = {r['exact']:.3f}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("K (importance samples)")
    ax.set_ylabel("bound on log p(x)")
    ax.set_title(f"The IWAE bound L_K (mean ± 2 SE over {repeats} estimates)", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def add_arguments(p: argparse.ArgumentParser) -> None:
    common_arguments(p)
    repeats_argument(p, 400, "estimates per K and encoder")


EXPLAINERS.add("iwae-bound", Explainer(
    "the IWAE bound rising with K from the ELBO toward log p(x), on a model with exact log p(x)", add_arguments, run))

"""`genlab explain divergences`: the best single Gaussian for a mixture under each f-divergence, by quadrature
(the direct half of ``genlab reproduce divergence-fit``), for the f-GAN paper's mixture or any other.

Forward KL(P || Q) is infinite wherever Q misses P's mass, so its best Gaussian covers every component:
it is the moment match (mean and variance of P). Reverse KL(Q || P) is infinite wherever Q puts mass that P
lacks, so with well separated components its best Gaussian sits on one of them. The others fall between;
try ``--mixture 0.5:-3:0.5,0.5:3:0.5`` to see the split widen.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from ..reproduce.divergence_fit import ORDER, PAPER_MIXTURE, Mixture, direct_fit, plot_fits
from . import EXPLAINERS, Explainer, common_arguments


def run(args: argparse.Namespace) -> dict:
    mixture = Mixture.parse(args.mixture) if args.mixture else PAPER_MIXTURE
    fits = {n: direct_fit(n, mixture) for n in ORDER}
    print(f"P = {mixture.text()}: mean {mixture.mean:.4f}, std {mixture.std:.4f}")
    print(f"{'divergence':>16} {'mu*':>8} {'sigma*':>8} {'D_f(P || Q*)':>13}")
    for n, f in fits.items():
        print(f"{n:>16} {f.mu:>8.4f} {f.sigma:>8.4f} {f.value:>13.4f}")
    path = plot_fits(Path(args.out) / "divergences.png", mixture, fits)
    print(f"wrote {path}")
    return {n: asdict(f) for n, f in fits.items()}


def add_arguments(p: argparse.ArgumentParser) -> None:
    common_arguments(p, seed=False)
    p.add_argument("--mixture", help=f"weight:mean:std,... (default: the f-GAN paper's, {PAPER_MIXTURE.text()})")


EXPLAINERS.add("divergences", Explainer(
    "the best Gaussian fit to a mixture under each f-divergence: forward KL covers, reverse KL seeks a mode",
    add_arguments, run))

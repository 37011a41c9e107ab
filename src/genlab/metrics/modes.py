"""Mode coverage on the 2-D Gaussian mixtures (the VEEGAN protocol, Srivastava et al. 2017, section 5.1).

Each sample goes to its nearest mode. It is **high quality** when it lies within 3 standard deviations of
that mode. A mode is **captured** when at least ``min_count`` high-quality samples fall to it (1 in VEEGAN).
The **reverse KL** is KL(h || uniform) = sum_k h_k log(K h_k), with h the histogram of the high-quality
samples over the K modes: 0 when they spread evenly, log K when they all fall to one mode.

Edge cases, decided here once:
- modes with no high-quality sample have h_k = 0 and add 0 (0 log 0 = 0), so the KL stays finite;
- with no high-quality sample at all the histogram is empty and the KL undefined: it is reported as log K,
  the value of the most collapsed histogram (a point mass), so that averages over seeds stay meaningful;
  ``hq`` = 0 in the result says when this happened.

**Voronoi coverage** needs no sharp samples: *every* sample goes to the cell of its nearest mode, HQ or not.
``voronoi_cells`` counts the cells holding at least half their uniform share (n / 2K samples) and
``voronoi_kl`` is KL(uniform || histogram) = sum_k (1/K) log((1/K) / h_k), the forward, mode-covering KL
from the target's uniform mode weights to the model's cell masses: a missed cell costs a lot, samples
between modes cost nothing. A cell with no sample would make it infinite; the histogram is therefore
smoothed by half a sample per cell, h_k = (c_k + 1/2) / (n + K/2) (the Krichevsky-Trofimov estimate), so
that a missed cell costs (1/K) log(2n/K + 1) (about 0.80 nats on ring8 and 0.21 on grid25 at n = 2,500) and
averages over seeds stay finite.

``mode_coverage`` is a pure function of arrays; ``modes`` is the ``genlab evaluate`` metric that draws
2,500 samples (``n_samples``, ``--n``) from a run on ``ring8`` or ``grid25`` with a seeded generator.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..data.toy import MIXTURES
from ..errors import ConfigError
from .base import HIGHER, LOWER, NEITHER, EvalContext, register_metric

HQ_STDS = 3.0  # a sample within this many standard deviations of its nearest mode is high quality
N_SAMPLES = 2500


def mode_coverage(samples: np.ndarray, modes: np.ndarray, std: float, min_count: int = 1) -> dict:
    """VEEGAN's mode statistics of 2-D samples (N, 2) against modes (K, 2) of a mixture with this std.

    Returns modes (captured, out of K), hq_percent, reverse_kl, hq (count) and per_mode (HQ counts, K), and
    the Voronoi statistics of all samples: voronoi_cells (cells with >= half their uniform share),
    voronoi_kl (KL(uniform || smoothed cell histogram)) and per_cell (counts, K)."""
    samples = np.asarray(samples, dtype=np.float64)
    modes = np.asarray(modes, dtype=np.float64)
    if samples.ndim != 2 or samples.shape[1] != modes.shape[1]:
        raise ConfigError(f"mode coverage needs samples of shape (N, {modes.shape[1]}), got {samples.shape}")
    dist = np.linalg.norm(samples[:, None, :] - modes[None, :, :], axis=-1)  # (N, K)
    nearest = dist.argmin(1)
    hq = dist[np.arange(len(samples)), nearest] <= HQ_STDS * std
    counts = np.bincount(nearest[hq], minlength=len(modes))  # (K,)
    k, n_hq = len(modes), int(hq.sum())
    if n_hq == 0:
        reverse_kl = math.log(k)
    else:
        h = counts[counts > 0] / n_hq
        reverse_kl = float(np.sum(h * np.log(k * h)))
    cells = np.bincount(nearest, minlength=k)  # (K,) every sample, HQ or not
    n = len(samples)
    h = (cells + 0.5) / (n + 0.5 * k)
    return {"modes": int((counts >= min_count).sum()), "num_modes": k,
            "hq_percent": 100.0 * n_hq / max(1, n), "reverse_kl": reverse_kl, "hq": n_hq,
            "voronoi_cells": int((cells >= n / (2 * k)).sum()), "voronoi_kl": float(np.mean(np.log(1 / (k * h)))),
            "n": int(n), "per_mode": counts.tolist(), "per_cell": cells.tolist()}


@torch.no_grad()
def sample_points(model, n: int, generator: torch.Generator, chunk: int = 5000) -> np.ndarray:
    model.eval()
    parts = [model.sample(min(chunk, n - i), generator=generator) for i in range(0, n, chunk)]
    return model.info.to_data_space(torch.cat(parts)).double().cpu().numpy()


def _on_a_mixture(run_config: dict) -> str | None:
    dataset = run_config["data"]["dataset"]
    return None if dataset in MIXTURES else (f"it needs a run on one of the 2-D mixtures "
                                             f"({', '.join(sorted(MIXTURES))}); this one was trained on {dataset!r}")


@register_metric("modes", "ring8/grid25 only: modes captured, % high-quality samples, reverse KL (VEEGAN protocol); "
                          "Voronoi cells covered and KL(uniform || cell histogram) of all samples", "coverage",
                 {"modes": HIGHER, "num_modes": NEITHER, "hq_percent": HIGHER, "reverse_kl": LOWER, "hq": HIGHER,
                  "voronoi_cells": HIGHER, "voronoi_kl": LOWER, "n": NEITHER},
                 settings={"n_samples": N_SAMPLES}, applies=_on_a_mixture)
def modes_metric(ctx: EvalContext) -> dict:
    dataset = ctx.run_config["data"]["dataset"]
    n = ctx.config.n_samples
    mixture = MIXTURES[dataset]
    x = sample_points(ctx.model, n, ctx.generator())
    out = mode_coverage(x, mixture["modes"](), mixture["std"])
    out["settings"] = {"dataset": dataset, "n": n, "hq_within_stds": HQ_STDS, "std": mixture["std"],
                       "min_count": 1}
    return out

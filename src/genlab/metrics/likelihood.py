"""Likelihood metrics for models with an encoder (the VAE family): nll, elbo, active-units.

NLL by importance sampling (Burda et al. 2015, section 5): for each test image,

    log p(x) ~= log (1/K) sum_k exp(lw_k),   lw_k = log p(x, z_k) - log q(z_k | x),  z_k ~ q(z | x)

with K = 5000 by default: the IWAE bound with a large K, a stochastic lower bound on log p(x) whose gap
shrinks as K grows. The ELBO is the mean of the same weights, reported with its two terms (the KL term
E_q[log q(z|x) - log p(z)] and the reconstruction term -E_q log p(x|z)). All come from the model's ``terms``
(whose difference is ``log_weights``; ``models.base.HasLikelihood``), batched over images and over K
(``metrics/importance.py``).

Active units (Burda et al. 2015, section 5.2): a latent unit u is active when Var_x(E_q[z_u | x]) > 0.01.

The scored images are the first ``n_data`` of the split (``EvalContext.eval_batch``: dynamically binarized
runs are binarized once with the evaluation seed, the usual protocol); the setting is stored.
"""

from __future__ import annotations

import math

import torch

from ..models.base import HasLikelihood
from .base import HIGHER, LOWER, NEITHER, EvalContext, Value, mean_se, register_metric

NO_LIKELIHOOD = "use the sample-quality metrics instead (see `genlab metrics`)"


@register_metric("nll", "negative log-likelihood by importance sampling, nats and bits/dim", "likelihood",
                 {"nll_nats": Value(LOWER, se="nll_se"), "bits_per_dim": LOWER}, settings={"k": 5000, "n_data": None},
                 needs=HasLikelihood, hint=NO_LIKELIHOOD)
def nll(ctx: EvalContext) -> dict:
    r = ctx.log_weights()
    mean, se = mean_se(-r.log_px)
    dims = math.prod(ctx.model.info.shape)
    return {"nll_nats": mean, "nll_se": se, "bits_per_dim": mean / (dims * math.log(2)),
            "settings": {"k": ctx.config.k, **r.settings, "estimator": "log-mean-exp of K importance weights"}}


@register_metric("elbo", "evidence lower bound, estimated with K samples per data example", "likelihood",
                 {"elbo_nats": Value(HIGHER, se="elbo_se"), "kl_nats": Value(NEITHER, se="kl_se"),
                  "rec_nats": Value(LOWER, se="rec_se")}, settings={"k": 100, "n_data": None},
                 needs=HasLikelihood, hint=NO_LIKELIHOOD)
def elbo(ctx: EvalContext) -> dict:
    r = ctx.log_weights()
    mean, se = mean_se(r.elbo)
    kl, kl_se = mean_se(r.kl)
    rec, rec_se = mean_se(r.rec)
    return {"elbo_nats": mean, "elbo_se": se, "kl_nats": kl, "kl_se": kl_se, "rec_nats": rec, "rec_se": rec_se,
            "settings": {"k": ctx.config.k, **r.settings,
                         "terms": "elbo = -rec - kl: rec = -E_q log p(x|z), kl = E_q[log q(z|x) - log p(z)], "
                                  "both estimated with the same K samples"}}


THRESHOLD = 0.01  # Burda et al.'s activity threshold on Var_x(E_q[z_u | x])


@register_metric("active-units", "latent units with Var_x(E_q[z|x]) > 0.01, per stochastic layer", "likelihood",
                 {"active_units": HIGHER, "active_*": HIGHER, "units_*": NEITHER}, settings={"n_data": None},
                 needs=HasLikelihood, hint=NO_LIKELIHOOD)
def active_units(ctx: EvalContext) -> dict:
    model = ctx.model
    batch, settings = ctx.eval_batch()
    y = batch.y if model.conditional else None
    means: dict[str, list[torch.Tensor]] = {}
    with torch.inference_mode():
        for i in range(0, len(batch.x), 1000):
            yb = None if y is None else y[i:i + 1000].to(model.device)
            for layer, m in model.posterior_mean(batch.x[i:i + 1000].to(model.device), yb).items():
                means.setdefault(layer, []).append(m.double())
    out: dict = {}
    total = 0
    for layer, parts in means.items():
        var = torch.cat(parts).var(0, unbiased=True)  # (Z,)
        active = int((var > THRESHOLD).sum())
        out[f"active_{layer}"] = active
        out[f"units_{layer}"] = var.numel()
        total += active
    out["active_units"] = total
    out["settings"] = {**settings, "threshold": THRESHOLD,
                       "z2_mean": "E_q[z2|x] averaged over 16 draws of z1" if "z2" in means else None}
    return out

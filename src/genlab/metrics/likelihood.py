"""Likelihood metrics for models with an encoder (the VAE family): nll, elbo, active-units.

NLL by importance sampling (Burda et al. 2015, section 5): for each test image,

    log p(x) ~= log (1/K) sum_k exp(lw_k),   lw_k = log p(x, z_k) - log q(z_k | x),  z_k ~ q(z | x)

with K = 5000 by default: the IWAE bound with a large K, a stochastic lower bound on log p(x) whose gap
shrinks as K grows. The ELBO is the mean of the same weights, reported with its two terms (the KL term
E_q[log q(z|x) - log p(z)] and the reconstruction term -E_q log p(x|z)). All come from the model's ``terms``
(whose difference is ``log_weights``), batched over images and over K so that the decoder runs as a few
large matrix products.

Active units (Burda et al. 2015, section 5.2): a latent unit u is active when Var_x(E_q[z_u | x]) > 0.01.

Test images for a model trained with dynamic binarization are binarized once, with the evaluation seed
(the usual protocol); a statically binarized run's test split is binarized the same way as its training
split; grey images are scored as Bernoulli means as they were in training. The setting is stored.
"""

from __future__ import annotations

import math

import torch

from ..evaluate import EvalContext, NotApplicable, register_metric
from ..losses import iwae_bound
from ..models.vae import Terms

ROWS_PER_BATCH = 2000  # (image, sample) rows through the decoder at once: 2000 x 784 floats stay in cache


def _require_encoder(ctx: EvalContext, metric: str) -> None:
    if not hasattr(ctx.model, "log_weights"):
        raise NotApplicable(
            f"{metric} needs a model with an encoder (the VAE family: vae, beta-vae, cvae, iwae, vr); "
            f"{ctx.cfg['model']!r} has none, so its likelihood cannot be estimated this way. "
            f"Use the sample-quality metrics instead (see `genlab metrics`)."
        )


def _test_batch(ctx: EvalContext):
    """The evaluation images (model space) and labels, binarized as the protocol says, and the settings."""
    split = ctx.opt("split", "test")
    data = ctx.data(split)
    n = min(int(ctx.opt("n", len(data))), len(data))
    if n < 1:
        raise NotApplicable("--n must be at least 1")
    idx = torch.arange(n, device=data.x.device)
    gen = torch.Generator(device=data.x.device).manual_seed(ctx.seed)
    batch = data.batch(idx, gen)  # dynamic binarization: one draw per image, from the evaluation seed
    binarization = ctx.cfg["data"].get("binarize", "none")
    how = {"dynamic": f"binarized once with seed {ctx.seed} (training used dynamic binarization)",
           "static": "statically binarized, as in training",
           "none": "grey values, as in training"}[binarization]
    return batch, {"split": split, "n_images": n, "binarization": how}


@torch.inference_mode()
def importance_terms(model, x: torch.Tensor, y, k: int, generator: torch.Generator,
                     rows: int = ROWS_PER_BATCH) -> Terms:
    """The terms of the log importance weights for every image: log p(x|z_k) and log q(z_k|x) - log p(z_k),
    (N, K) each, in chunks of about `rows` (image, sample) pairs. The result does not depend on `rows` except
    through the order noise is drawn in."""
    k_chunk = min(k, rows)
    per = max(1, rows // k_chunk)
    log_px, kl = [], []
    for i in range(0, len(x), per):
        xb = x[i:i + per]
        yb = None if y is None else y[i:i + per]
        parts = [model.terms(xb, min(k_chunk, k - j), yb, generator=generator) for j in range(0, k, k_chunk)]
        log_px.append(torch.cat([t.log_px for t in parts], dim=1))
        kl.append(torch.cat([t.kl for t in parts], dim=1))
    return Terms(torch.cat(log_px), torch.cat(kl))


def log_weights_all(model, x: torch.Tensor, y, k: int, generator: torch.Generator,
                    rows: int = ROWS_PER_BATCH) -> torch.Tensor:
    """Log importance weights lw = log p(x, z_k) - log q(z_k | x) for every image: (N, K)."""
    return importance_terms(model, x, y, k, generator, rows).lw


def _importance(ctx: EvalContext, k: int) -> dict:
    key = ("importance", k)
    if key not in ctx._cache:
        model = ctx.model
        batch, settings = _test_batch(ctx)
        y = batch.y if model.conditional else None
        gen = torch.Generator(device=model.device).manual_seed(ctx.seed + 1)
        t = importance_terms(model, batch.x.to(model.device), None if y is None else y.to(model.device), k, gen)
        lw = t.lw
        ctx._cache[key] = {"log_px": iwae_bound(lw).double(), "elbo": lw.double().mean(1),
                           "kl": t.kl.double().mean(1), "rec": -t.log_px.double().mean(1), "settings": settings}
    return ctx._cache[key]


def _mean_se(v: torch.Tensor) -> tuple[float, float]:
    n = v.numel()
    se = v.std(unbiased=True).item() / math.sqrt(n) if n > 1 else float("nan")
    return v.mean().item(), se


@register_metric("nll", "negative log-likelihood by importance sampling (K=5000), nats and bits/dim")
def nll(ctx: EvalContext) -> dict:
    _require_encoder(ctx, "nll")
    k = int(ctx.opt("k", 5000))
    r = _importance(ctx, k)
    mean, se = _mean_se(-r["log_px"])
    dims = math.prod(ctx.model.info.shape)
    return {"nll_nats": mean, "nll_se": se, "bits_per_dim": mean / (dims * math.log(2)),
            "settings": {"k": k, **r["settings"], "estimator": "log-mean-exp of K importance weights"}}


@register_metric("elbo", "evidence lower bound on the test split, estimated with K samples per image")
def elbo(ctx: EvalContext) -> dict:
    _require_encoder(ctx, "elbo")
    k = int(ctx.opt("k", 100))
    r = _importance(ctx, k)
    mean, se = _mean_se(r["elbo"])
    kl, kl_se = _mean_se(r["kl"])
    rec, rec_se = _mean_se(r["rec"])
    return {"elbo_nats": mean, "elbo_se": se, "kl_nats": kl, "kl_se": kl_se, "rec_nats": rec, "rec_se": rec_se,
            "settings": {"k": k, **r["settings"],
                         "terms": "elbo = -rec - kl: rec = -E_q log p(x|z), kl = E_q[log q(z|x) - log p(z)], "
                                  "both estimated with the same K samples"}}


@register_metric("active-units", "latent units with Var_x(E_q[z|x]) > 0.01, per stochastic layer")
def active_units(ctx: EvalContext, threshold: float = 0.01) -> dict:
    _require_encoder(ctx, "active-units")
    model = ctx.model
    batch, settings = _test_batch(ctx)
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
        active = int((var > threshold).sum())
        out[f"active_{layer}"] = active
        out[f"units_{layer}"] = var.numel()
        total += active
    out["active_units"] = total
    out["settings"] = {**settings, "threshold": threshold,
                       "z2_mean": "E_q[z2|x] averaged over 16 draws of z1" if "z2" in means else None}
    return out

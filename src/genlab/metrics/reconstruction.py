"""Reconstruction metrics: how well a model maps held-out data back to itself.

``reconstruction`` (models with an encoder, ``models.base.Encodes``: the VAE family and the autoencoding
GANs vaegan, aae, bigan, alphagan): for each test example x, the error between x and its reconstruction x^ = reconstruct(x)
(the decoder's mean at the posterior mean or code), in data space (images in [0, 1], points as they are):

    mse = mean over examples of mean_d (x_d - x^_d)^2,    l1 = mean over examples of mean_d |x_d - x^_d|

``cycle`` (translation models, ``models.base.Translates``: CycleGAN): the cycle errors |F(G(a)) - a| and |G(F(b)) - b|
on the test split of both domains, averaged over dimensions in model space (as in training).

Each comes with its standard error over examples and the settings it was computed with. They score the
first ``n_data`` examples of the split, as the likelihood metrics do (``EvalContext.eval_batch``).
"""

from __future__ import annotations

import torch

from ..models.base import Encodes, Translates
from .base import LOWER, EvalContext, Value, mean_se, register_metric

CHUNK = 500  # examples per forward pass


@register_metric("reconstruction", "mean squared and absolute error between test data and reconstruct(x)",
                 "reconstruction", {"mse": Value(LOWER, se="mse_se"), "l1": Value(LOWER, se="l1_se")},
                 settings={"n_data": None}, needs=Encodes,
                 hint="so it cannot reconstruct its input (for a translation model, use the cycle metric)")
def reconstruction(ctx: EvalContext) -> dict:
    model = ctx.model
    batch, settings = ctx.eval_batch()
    x = batch.x.to(model.device)
    y = batch.y.to(model.device) if model.conditional else None
    sq, ab = [], []
    with torch.inference_mode():
        for i in range(0, len(x), CHUNK):
            xb = x[i:i + CHUNK]
            rec = model.reconstruct(xb, None if y is None else y[i:i + CHUNK])
            diff = (model.info.to_data_space(rec) - model.info.to_data_space(xb)).flatten(1).double()
            sq.append(diff.pow(2).mean(1))
            ab.append(diff.abs().mean(1))
    mse, mse_se = mean_se(torch.cat(sq))
    l1, l1_se = mean_se(torch.cat(ab))
    space = "images in [0, 1]" if model.info.kind == "image" else "points as they are"
    return {"mse": mse, "mse_se": mse_se, "l1": l1, "l1_se": l1_se,
            "settings": {**settings, "space": f"data space: {space}",
                         "reduction": "mean over dimensions per example, then over examples"}}


@register_metric("cycle", "translation models: cycle errors |F(G(a)) - a| and |G(F(b)) - b| on the test split",
                 "reconstruction", {"cycle_a": Value(LOWER, se="cycle_a_se"), "cycle_b": Value(LOWER, se="cycle_b_se")},
                 settings={"n_data": None}, needs=Translates)
def cycle(ctx: EvalContext) -> dict:
    model = ctx.model
    batch, settings = ctx.eval_batch()
    a, b = batch.x.to(model.device), batch.x_b.to(model.device)
    errors: dict[str, list[torch.Tensor]] = {"a": [], "b": []}
    with torch.inference_mode():
        for i in range(0, len(a), CHUNK):
            for k, v in model.cycle(a[i:i + CHUNK], b[i:i + CHUNK]).items():
                errors[k].append(v.double())
    out: dict = {}
    for k, name in (("a", "cycle_a"), ("b", "cycle_b")):
        out[name], out[f"{name}_se"] = mean_se(torch.cat(errors[k]))
    out["settings"] = {**settings, "space": "model space, as in training",
                       "cycle_a": "mean |F(G(a)) - a| over dimensions, then over examples",
                       "cycle_b": "mean |G(F(b)) - b| over dimensions, then over examples"}
    return out

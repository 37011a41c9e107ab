"""How well a model's latent code names the classes: InfoGAN's categorical code (``infer_codes``).

Q assigns each test image to the category of its largest probability: a clustering of the test set. Its
purity is the share of images whose class is their cluster's most common class (Chen et al. 2016 report
the corresponding error, 5% on MNIST, matching categories to digits). The chance level is the purity of the
same cluster sizes with the labels shuffled (mean of ``CHANCE_DRAWS`` seeded shuffles); a purity well above
it means the code found the classes without seeing a label. ``mi_cat`` = log K - CE(Q(c | G(z, c)), c) on
fresh draws is the mutual-information bound the model maximizes, beside its maximum log K.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..models.base import InfersCodes
from .base import HIGHER, NEITHER, EvalContext, NotApplicable, register_metric
from .samples import FRESH_SAMPLES_SEED, N_SAMPLES

CHANCE_DRAWS = 10
CHUNK = 500


def cluster_purity(clusters: np.ndarray, labels: np.ndarray) -> float:
    """Share of examples whose label is the most common label of their cluster: (N,) ints each -> [0, 1]."""
    if len(clusters) != len(labels) or len(labels) == 0:
        raise ValueError("cluster_purity needs as many clusters as labels, at least one")
    table = np.zeros((clusters.max() + 1, labels.max() + 1), dtype=np.int64)
    np.add.at(table, (clusters, labels), 1)
    return float(table.max(axis=1).sum() / len(labels))


def _categorical(run_config: dict) -> str | None:
    if run_config["model_config"].get("categories", 0) >= 2:
        return None
    return f"it needs a categorical code, and this {run_config['model']} has none (categories < 2)"


@register_metric("codes", "InfoGAN's categorical code: purity of its clusters of test images against the "
                 "classes (beside chance), and the information bound log K - CE (beside log K)", "codes",
                 {"purity": HIGHER, "purity_chance": NEITHER, "mi_cat": HIGHER, "mi_max": NEITHER},
                 settings={"n_samples": N_SAMPLES}, needs=InfersCodes, applies=_categorical,
                 hint="the codes metric scores a categorical code")
def codes_metric(ctx: EvalContext) -> dict:
    model = ctx.model
    split = ctx.config.split
    data = ctx.data(split)
    if data.y is None:
        raise NotApplicable(f"the codes metric needs labelled data; {model.info.name!r} has no labels")
    k = model.cfg.categories
    with torch.inference_mode():
        probs = torch.cat([model.infer_codes(model.info.to_model_space(data.x[i: i + CHUNK].to(model.device)))
                           ["categorical"].cpu() for i in range(0, len(data), CHUNK)])
    clusters, labels = probs.argmax(1).numpy(), data.y.cpu().numpy()
    rng = np.random.default_rng(ctx.seed)
    chance = np.mean([cluster_purity(clusters, rng.permutation(labels)) for _ in range(CHANCE_DRAWS)])
    n = min(ctx.config.n_samples, N_SAMPLES)  # draws for the information bound
    gen = ctx.generator(FRESH_SAMPLES_SEED)
    ce, count = 0.0, 0
    with torch.inference_mode():
        for i in range(0, n, CHUNK):
            codes = model.draw(min(CHUNK, n - i), gen)
            q = model.infer_codes(model.G(codes))["categorical"]
            ce += F.nll_loss(q.clamp_min(1e-12).log(), codes.category, reduction="sum").item()
            count += len(q)
    return {
        "purity": cluster_purity(clusters, labels),
        "purity_chance": float(chance),
        "mi_cat": math.log(k) - ce / count,
        "mi_max": math.log(k),
        "settings": {"split": split, "n_images": len(labels), "categories": k, "n_draws": count,
                     "chance_draws": CHANCE_DRAWS},
    }

"""Log importance weights of a whole evaluation set, batched (what the likelihood metrics summarize).

For each example, K weights lw_k = log p(x, z_k) - log q(z_k | x), z_k ~ q(z | x), and their two terms
log p(x | z_k) and log q(z_k | x) - log p(z_k), from the model's ``terms`` (``models.base.HasLikelihood``;
``log_weights`` is their difference), computed in chunks of about ``rows`` (example,
sample) pairs so that the decoder runs as a few large matrix products.
"""

from __future__ import annotations

import torch

from ..models.vae import Terms

ROWS_PER_BATCH = 2000  # (image, sample) rows through the decoder at once: 2000 x 784 floats stay in cache


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

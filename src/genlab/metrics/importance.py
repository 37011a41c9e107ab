"""Log importance weights of a whole evaluation set, batched (what the likelihood metrics summarize).

For each example, K weights lw_k = log p(x, z_k) - log q(z_k | x), z_k ~ q(z | x), and their two terms
log p(x | z_k) and log q(z_k | x) - log p(z_k), from the model's ``terms`` (``models.base.HasLikelihood``;
``log_weights`` is their difference), computed in chunks of about ``rows`` (example,
sample) pairs so that the decoder runs as a few large matrix products. Each chunk draws its noise from a
generator seeded by the evaluation's seed and the chunk's index, so that the chunks can be split across the
processes of a torchrun job (``distributed.chunked``) and the result is the one process's.
"""

from __future__ import annotations

import torch

from ..distributed import SINGLE, Dist, chunk_seed, chunked
from ..models.vae import Terms

ROWS_PER_BATCH = 2000  # (image, sample) rows through the decoder at once: 2000 x 784 floats stay in cache


@torch.inference_mode()
def importance_terms(model, x: torch.Tensor, y, k: int, seed: int, rows: int = ROWS_PER_BATCH,
                     dist: Dist = SINGLE) -> Terms:
    """The terms of the log importance weights for every image: log p(x|z_k) and log q(z_k|x) - log p(z_k),
    (N, K) each, in chunks of about `rows` (image, sample) pairs, chunk c's noise seeded by (seed, c); with
    several processes (`dist`) each computes its share of the chunks and every one gets the whole."""
    k_chunk = min(k, rows)
    per = max(1, rows // k_chunk)
    starts = range(0, len(x), per)

    def chunk(c: int) -> Terms:
        i = starts[c]
        xb = x[i:i + per]
        yb = None if y is None else y[i:i + per]
        generator = torch.Generator(device=x.device).manual_seed(chunk_seed(seed, c))
        parts = [model.terms(xb, min(k_chunk, k - j), yb, generator=generator) for j in range(0, k, k_chunk)]
        return Terms(torch.cat([t.log_px for t in parts], dim=1), torch.cat([t.kl for t in parts], dim=1))

    done = chunked(dist, len(starts), chunk)
    return Terms(torch.cat([t.log_px for t in done]).to(x.device), torch.cat([t.kl for t in done]).to(x.device))


def log_weights_all(model, x: torch.Tensor, y, k: int, seed: int, rows: int = ROWS_PER_BATCH,
                    dist: Dist = SINGLE) -> torch.Tensor:
    """Log importance weights lw = log p(x, z_k) - log q(z_k | x) for every image: (N, K)."""
    return importance_terms(model, x, y, k, seed, rows, dist).lw

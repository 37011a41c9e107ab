"""What the sample-quality metrics compare: generated samples, real images, and their features.

Every metric compares N generated samples with N real examples of the reference split (``--split``,
default test) and reports, beside its value, the same metric between N examples of the *other* split and
the reference ones (training images against test images): the floor a perfect model would reach at this N.

N is ``n_samples`` (``--n``, default 10,000), lowered to the size of the smaller split when a split is
smaller (digits' test split holds 297 images); the N used is stored with every number. Random draws come
from generators seeded by ``--seed`` plus a fixed offset per purpose, so an evaluation repeated with the
same seed gives the same numbers. Real features are cached on disk under a key of everything that affects
them. The functions here are pure; ``EvalContext`` (``metrics/base.py``) memoizes them for one evaluation.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from .. import __version__
from ..distributed import SINGLE, Dist, chunk_seed, chunked
from ..data.fingerprint import data_identity

N_SAMPLES = 10_000  # the sample-quality metrics' default n_samples
SAMPLE_CHUNK = 500  # fixed (not --batch-size): the random draws must not depend on a speed setting
# offsets added to the evaluation seed, one per random purpose
SAMPLES_SEED, FRESH_SAMPLES_SEED, REAL_SUBSET_SEED, KID_SEED, CRITIC_SEED, PAIRS_SEED = 1, 2, 3, 4, 5, 6


def cpu_generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@torch.no_grad()
def draw_samples(model, n: int, seed: int, chunk: int = SAMPLE_CHUNK, y: Optional[torch.Tensor] = None,
                 dist: Dist = SINGLE) -> torch.Tensor:
    """n samples of a trained model in data space (images in [0, 1]), float32 on the CPU, drawn chunk by
    chunk, chunk c from a generator (on the model's device) seeded by (seed, c); with several processes
    (`dist`) each draws its share of the chunks and every one gets all n. `y` (n,): the classes asked of a
    conditional model."""
    starts = range(0, n, chunk)

    def draw(c: int) -> torch.Tensor:
        i = starts[c]
        m = min(chunk, n - i)
        yi = None if y is None else y[i: i + m]
        generator = torch.Generator(device=model.device).manual_seed(chunk_seed(seed, c))
        return model.info.to_data_space(model.sample(m, generator=generator, y=yi)).float().cpu()

    return torch.cat(chunked(dist, len(starts), draw))


def other_split(split: str) -> str:
    return "train" if split == "test" else "test"


def real_examples(x: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """n rows of x: all of them in order when n == len(x), else a seeded random subset."""
    if n >= len(x):
        return x.cpu()
    idx = torch.randperm(len(x), generator=cpu_generator(seed))[:n]
    return x.cpu().index_select(0, idx)


@dataclass(frozen=True)
class SampleSize:
    """N (the asked n_samples, lowered to the smaller split) and the two splits it is drawn from."""

    n: int
    n_asked: int
    split: str  # the reference split
    other: str  # the other split: the real-versus-real floor


@dataclass
class Sets:
    """Features of the three sets every metric reads, and the settings to store with its numbers."""

    real: dict[str, np.ndarray]  # N examples of the reference split
    fake: dict[str, np.ndarray]  # N generated samples
    other: dict[str, np.ndarray]  # N examples of the other split (the real-versus-real floor)
    settings: dict


def real_features_key(ext_identity: str, data_cfg: dict, split: str, n: int, seed: int) -> str:
    identity = {
        "features": ext_identity,
        "data": data_identity(data_cfg),  # the data's content, not its path
        "split": split,
        "n": n,
        "subset_seed": seed,
        "genlab_version": __version__,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]


# The EvalContext methods under their former names, for callers not yet moved to the methods
# (reproduce/vae_vs_gan.py): call ctx.sample_size(), ctx.extractor(), ctx.real_features(), ctx.real().


def sample_size(ctx) -> dict:
    size = ctx.sample_size()
    return {"n": size.n, "n_asked": size.n_asked, "split": size.split, "other": size.other}


def extractor(ctx, name: Optional[str] = None):
    return ctx.extractor(name)


def cached_real_features(ctx, ext, split: str, n: int) -> dict[str, np.ndarray]:
    return ctx.real_features(ext, split, n)


def real(ctx, split: str, n: int) -> torch.Tensor:
    return ctx.real(split, n)

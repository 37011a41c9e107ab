"""What the sample-quality metrics compare: generated samples, real images, and their features.

Every metric compares N generated samples with N real examples of the reference split (``--split``,
default test) and reports, beside its value, the same metric between N examples of the *other* split and
the reference ones (training images against test images): the floor a perfect model would reach at this N.

N is ``--n`` (default 10,000), lowered to the size of the smaller split when a split is smaller (digits'
test split holds 297 images); the N used is stored with every number. Random draws come from generators
seeded by ``--seed`` plus a fixed offset per purpose, so an evaluation repeated with the same seed gives
the same numbers. Real features are cached on disk under a key of everything that affects them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from .. import __version__
from ..data.files import cache_dir
from ..data.fingerprint import data_identity
from ..errors import ConfigError
from ..rundir import atomic_path
from .features import Extractor, build_extractor, default_features, extract

DEFAULT_N = 10_000
SAMPLE_CHUNK = 500  # fixed (not --batch-size): the random draws must not depend on a speed setting
# offsets added to the evaluation seed, one per random purpose
SAMPLES_SEED, FRESH_SAMPLES_SEED, REAL_SUBSET_SEED, KID_SEED, CRITIC_SEED, PAIRS_SEED = 1, 2, 3, 4, 5, 6


def cpu_generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@torch.no_grad()
def draw_samples(model, n: int, generator: torch.Generator, chunk: int = SAMPLE_CHUNK,
                 y: Optional[torch.Tensor] = None) -> torch.Tensor:
    """n samples of a trained model in data space (images in [0, 1]), float32 on the CPU, drawn chunk by
    chunk from `generator` (on the model's device). `y` (n,): the classes asked of a conditional model."""
    parts = []
    for i in range(0, n, chunk):
        m = min(chunk, n - i)
        yi = None if y is None else y[i: i + m]
        parts.append(model.info.to_data_space(model.sample(m, generator=generator, y=yi)).float().cpu())
    return torch.cat(parts)


def other_split(split: str) -> str:
    return "train" if split == "test" else "test"


def real_examples(x: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """n rows of x: all of them in order when n == len(x), else a seeded random subset."""
    if n >= len(x):
        return x.cpu()
    idx = torch.randperm(len(x), generator=cpu_generator(seed))[:n]
    return x.cpu().index_select(0, idx)


@dataclass
class Sets:
    """Features of the three sets every metric reads, and the settings to store with its numbers."""

    real: dict[str, np.ndarray]  # N examples of the reference split
    fake: dict[str, np.ndarray]  # N generated samples
    other: dict[str, np.ndarray]  # N examples of the other split (the real-versus-real floor)
    settings: dict


def sample_size(ctx) -> dict:
    """N and the two splits, checked once per evaluation."""
    if "sizes" not in ctx._cache:
        split = ctx.opt("split", "test")
        n_asked = int(ctx.opt("n", DEFAULT_N))
        if n_asked < 2:
            raise ConfigError("--n must be at least 2")
        n = min(n_asked, len(ctx.data(split)), len(ctx.data(other_split(split))))
        ctx._cache["sizes"] = {"n": n, "n_asked": n_asked, "split": split, "other": other_split(split)}
    return ctx._cache["sizes"]


def samples(ctx, n: int, seed_offset: int = SAMPLES_SEED) -> torch.Tensor:
    """n generated samples (data space, CPU), shared by the metrics of one evaluation."""
    key = ("samples", n, seed_offset)
    if key not in ctx._cache:
        ctx._cache[key] = draw_samples(ctx.model, n, ctx.generator(seed_offset), chunk=SAMPLE_CHUNK)
    return ctx._cache[key]


def real(ctx, split: str, n: int) -> torch.Tensor:
    return real_examples(ctx.data(split).x, n, ctx.seed + REAL_SUBSET_SEED)


def extractor(ctx, name: Optional[str] = None) -> Extractor:
    """The feature extractor asked for (--features), or the default for the data kind."""
    info = ctx.model.info
    name = name or ctx.opt("features") or default_features(info.kind)
    key = ("extractor", name)
    if key not in ctx._cache:
        ctx._cache[key] = build_extractor(name, ctx.cfg["data"], info.kind, ctx.device)
    return ctx._cache[key]


def feature_sets(ctx, features: Optional[str] = None) -> Sets:
    """Features of N reference images, N samples and N images of the other split (cached per evaluation)."""
    ext = extractor(ctx, features)
    key = ("sets", ext.name)
    if key not in ctx._cache:
        size = sample_size(ctx)
        n = size["n"]
        fake = extract(ext, samples(ctx, n), _batch(ctx), ctx.device)
        ref = cached_real_features(ctx, ext, size["split"], n)
        other = cached_real_features(ctx, ext, size["other"], n)
        settings = {
            **ext.settings(), "n_real": n, "n_fake": n, "reference_split": size["split"],
            "real_vs_real": f"{size['other']} vs {size['split']} examples (N={n} each)",
        }
        if size["n_asked"] != n:
            settings["n_asked"] = size["n_asked"]
        ctx._cache[key] = Sets(ref, fake, other, settings)
    return ctx._cache[key]


def real_features_key(ext: Extractor, data_cfg: dict, split: str, n: int, seed: int) -> str:
    identity = {
        "features": ext.identity,
        "data": {**data_identity(data_cfg), "binarize": data_cfg.get("binarize")},  # content, not path
        "split": split,
        "n": n,
        "subset_seed": seed,
        "genlab_version": __version__,
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]


def cached_real_features(ctx, ext: Extractor, split: str, n: int) -> dict[str, np.ndarray]:
    """Features of n real examples of `split`, read from the cache when computed before."""
    seed = ctx.seed + REAL_SUBSET_SEED
    key = real_features_key(ext, ctx.cfg["data"], split, n, seed)
    file = cache_dir() / "real-features" / f"{ctx.cfg['data']['dataset']}-{split}-{key}.npz"
    if file.exists():
        with np.load(file) as f:
            return {k: f[k] for k in f.files}
    out = extract(ext, real(ctx, split, n), _batch(ctx), ctx.device)
    file.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(file) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **out)
    return out


def _batch(ctx) -> int:
    return int(ctx.opt("batch_size", 500))

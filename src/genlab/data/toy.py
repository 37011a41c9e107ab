"""Built-in datasets that need no download: scikit-learn's digits and the 2-D Gaussian mixtures."""

from __future__ import annotations

import math

import numpy as np

from ..config import DataConfig
from .base import ArrayData, DatasetSpec, register_dataset

# ----------------------------------------------------------------------------------------------------
# 2-D mixtures (TARGETS.md section 2). Angles use endpoint=False: 8 distinct ring modes.


def ring8_modes() -> np.ndarray:
    angles = np.linspace(0, 2 * math.pi, 8, endpoint=False)
    return np.stack([2 * np.cos(angles), 2 * np.sin(angles)], axis=1).astype(np.float64)


def grid25_modes() -> np.ndarray:
    g = np.array([-4.0, -2.0, 0.0, 2.0, 4.0])
    return np.array([(a, b) for a in g for b in g], dtype=np.float64)


MIXTURES = {
    "ring8": {"modes": ring8_modes, "std": 0.02},
    "grid25": {"modes": grid25_modes, "std": 0.05},
}

TOY_SIZES = {"train": 100_000, "test": 10_000}
TOY_TRAIN = {"batch_size": 512, "epochs": 30, "log_every": 100, "sample_every": 5}


def sample_mixture(name: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n points from a uniform mixture of isotropic Gaussians; returns (points, mode index)."""
    modes = MIXTURES[name]["modes"]()
    std = MIXTURES[name]["std"]
    rng = np.random.default_rng(seed)
    k = rng.integers(0, len(modes), size=n)
    x = modes[k] + std * rng.standard_normal((n, 2))
    return x.astype(np.float32), k.astype(np.int64)


def _mixture_loader(name: str):
    def load(cfg: DataConfig, split: str) -> ArrayData:
        # a different fixed seed per split: the test points are fresh draws
        x, k = sample_mixture(name, TOY_SIZES[split], seed={"train": 1, "test": 2}[split])
        n_modes = len(MIXTURES[name]["modes"]())
        return ArrayData(x=x, y=k, kind="points", classes=[f"mode {i}" for i in range(n_modes)])

    return load


register_dataset(DatasetSpec(
    name="ring8", kind="points", profile="points", load=_mixture_loader("ring8"), train_defaults=TOY_TRAIN,
    description="8 Gaussians (std 0.02) on a circle of radius 2, 2-D; generated",
))
register_dataset(DatasetSpec(
    name="grid25", kind="points", profile="points", load=_mixture_loader("grid25"), train_defaults=TOY_TRAIN,
    description="25 Gaussians (std 0.05) on the grid {-4,-2,0,2,4}^2, 2-D; generated",
))

# ----------------------------------------------------------------------------------------------------
# scikit-learn's digits: 1,797 images of 8x8 pixels with 17 grey levels, 10 classes. There is no
# official split; genlab fixes one (a seeded shuffle, 297 test images).

DIGITS_TEST = 297


def load_digits_arrays(cfg: DataConfig, split: str) -> ArrayData:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8) in [0, 1]
    y = d.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    idx = order[DIGITS_TEST:] if split == "train" else order[:DIGITS_TEST]
    return ArrayData(x=x[idx], y=y[idx], kind="image", classes=[str(i) for i in range(10)])


register_dataset(DatasetSpec(
    name="digits", kind="image", profile="small-image", load=load_digits_arrays,
    train_defaults={"batch_size": 64, "epochs": 100, "sample_every": 10},
    description="scikit-learn's handwritten digits, 8x8 grey, 10 classes (1,500 train / 297 test); embedded",
))

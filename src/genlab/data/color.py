"""Coloured digits and clothes: ``color-mnist``, ``color-fashion-mnist`` (and ``color-digits``, embedded).

ColorMNIST-style tinting of a grey dataset: every image gets one random colour, and either its object (the
digit, the garment) or its background is painted with it. For a grey image g in [0, 1] (C = 1):

    colour      c = u / max(u),  u ~ U(0, 1)^3           (a random hue and saturation at full brightness)
    object      x = g * c                                 (a coloured object on black), with probability 1/2
    background  x = g + (1 - g) * c                       (a white object on a coloured ground), otherwise

so each class appears in every colour, on both grounds: a dataset with many more modes than its grey base,
and with classes still given by the base's labels (kept). The draws come from a generator seeded by
``COLOR_SEED`` and the split, so every machine builds the same images; the test split uses other colours
than the training split.

The coloured arrays are built from whichever base dataset is on the machine (``mnist`` or
``fashion-mnist``, found or downloaded as those datasets are) and kept in genlab's cache
(``<cache>/<NAME>/<split>-<key>.npz``, written atomically) under a key of the base files' identity and of
this recipe: building takes a few seconds, reading the cache a fraction of one.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..config import DataConfig
from ..registry import DATASETS
from .base import ArrayData, Availability, DatasetSpec, register_dataset
from .files import cache_dir, cached_arrays, files_key
from .images import IDX_DATASETS, idx_paths, read_idx_pair
from .toy import load_digits_arrays

COLOR_SEED = 22
SPLIT_STREAMS = {"train": 0, "test": 1}
BACKGROUND_P = 0.5  # probability that the background, not the object, is tinted
RECIPE = {"version": 1, "seed": COLOR_SEED, "background_p": BACKGROUND_P, "colour": "u / max(u)"}
CHUNK = 8192  # images tinted at once (bounds the float32 working memory to about 80 MB for 28x28)


def random_colours(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(colours (n, 3) in [0, 1] with max 1, background flags (n,) bool): the recipe's random draws."""
    u = rng.random((n, 3))
    colours = u / u.max(axis=1, keepdims=True)
    background = rng.random(n) < BACKGROUND_P
    return colours.astype(np.float32), background


def tint(x: np.ndarray, colours: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Grey images (N, 1, H, W) -> colour images (N, 3, H, W), in the input's format (uint8 0..255, or
    floats in [0, 1]): image i's object (or, where background[i], its background) painted colours[i]."""
    out = np.empty((len(x), 3, *x.shape[2:]), dtype=np.uint8 if x.dtype == np.uint8 else np.float32)
    for i in range(0, len(x), CHUNK):
        g = x[i: i + CHUNK].astype(np.float32)
        if x.dtype == np.uint8:
            g /= 255.0
        c = colours[i: i + CHUNK, :, None, None]  # (B, 3, 1, 1)
        bg = background[i: i + CHUNK, None, None, None]
        tinted = np.where(bg, g + (1 - g) * c, g * c)  # (B, 3, H, W)
        out[i: i + CHUNK] = np.rint(tinted * 255) if x.dtype == np.uint8 else tinted
    return out


def colorize(grey: ArrayData, split: str) -> ArrayData:
    """The recipe applied to a grey split; labels and class names kept."""
    if grey.x.ndim != 4 or grey.x.shape[1] != 1:
        raise ValueError(f"colorize needs grey images (N, 1, H, W), got {grey.x.shape}")
    rng = np.random.default_rng([COLOR_SEED, SPLIT_STREAMS[split]])
    colours, background = random_colours(len(grey.x), rng)
    return ArrayData(x=tint(grey.x, colours, background), y=grey.y, kind="image", classes=grey.classes)


def _from_idx(base: str) -> Callable[[DataConfig, str], ArrayData]:
    """The loader of the coloured version of an MNIST-style dataset, cached."""
    name = f"color-{base}"

    def load(cfg: DataConfig, split: str) -> ArrayData:
        images, labels = idx_paths(base, cfg, split)
        key = files_key([images, labels], {**RECIPE, "split": split})

        def build() -> dict[str, np.ndarray]:
            arrays = colorize(read_idx_pair(base, images, labels), split)
            return {"x": arrays.x, "y": arrays.y}

        arrays = cached_arrays(cache_dir() / name / f"{split}-{key}.npz", build)
        return ArrayData(x=arrays["x"], y=arrays["y"], kind="image", classes=list(IDX_DATASETS[base][1]))

    return load


def _register(base: str, what: str) -> None:
    spec: DatasetSpec = DATASETS.get(base)

    def available(cfg: DataConfig) -> Availability:
        found = spec.available(cfg)
        return Availability(found.present, f"built from {base}: {found.where}")

    register_dataset(DatasetSpec(
        name=f"color-{base}", kind="image", profile="image-28", load=_from_idx(base), available=available,
        files=spec.files, recipe=RECIPE,
        description=f"{what}, each tinted with a random colour (object or background; seeded); built from {base}",
    ))


def _load_color_digits(cfg: DataConfig, split: str) -> ArrayData:
    return colorize(load_digits_arrays(cfg, split), split)


_register("mnist", "MNIST in colour, 28x28x3, 10 classes (60,000 train / 10,000 test)")
_register("fashion-mnist", "Fashion-MNIST in colour, 28x28x3, 10 classes (60,000 train / 10,000 test)")
register_dataset(DatasetSpec(
    name="color-digits", kind="image", profile="small-image", load=_load_color_digits,
    train_defaults={"batch_size": 64, "epochs": 100, "sample_every": 10},
    description="scikit-learn's digits in colour, 8x8x3, 10 classes (1,500 train / 297 test); embedded",
))

"""Two-domain datasets for translation models (CycleGAN): domain A in ``x``, domain B in ``x_b``.

Each is built from registered datasets: B is a transformed copy of A's dataset (colours inverted, turned a
quarter turn) or another dataset of the same shape. The domains are *unpaired*: B's examples are shuffled
with a fixed seed per split, independently of A's, so that ``x[i]`` and ``x_b[i]`` are unrelated examples
(a digit and, say, the inversion of another digit). A batch draws the same indices from both, which gives
independent uniform minibatches of each domain. Labels are A's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np

from ..config import DataConfig
from ..errors import DataError
from ..registry import DATASETS
from .base import ArrayData, Availability, DatasetSpec, register_dataset

Transform = Callable[[np.ndarray], np.ndarray]


def invert(x: np.ndarray) -> np.ndarray:
    """Colour inversion of images in 0..255 (uint8) or [0, 1] (float)."""
    return (255 - x) if x.dtype == np.uint8 else (1.0 - x).astype(x.dtype)


def rotate(x: np.ndarray) -> np.ndarray:
    """A quarter turn, anticlockwise, of images (N, C, H, W)."""
    return np.ascontiguousarray(np.rot90(x, k=1, axes=(2, 3)))


def _pair(name: str, a: str, b: Optional[str], transform: Optional[Transform], description: str) -> DatasetSpec:
    """Domain A = dataset `a`; domain B = `transform` of dataset `b` (default: of `a`), unpaired."""
    b = b or a

    def load(cfg: DataConfig, split: str) -> ArrayData:
        dom_a = DATASETS.get(a).load(cfg, split)
        dom_b = dom_a if b == a else DATASETS.get(b).load(cfg, split)
        if dom_a.kind != dom_b.kind:
            raise DataError(f"dataset {name!r}: {a!r} holds {dom_a.kind} but {b!r} holds {dom_b.kind}")
        n = min(len(dom_a.x), len(dom_b.x))
        x_b = dom_b.x if transform is None else transform(dom_b.x)
        order = np.random.default_rng({"train": 11, "test": 12}.get(split, 13)).permutation(len(x_b))[:n]
        y = None if dom_a.y is None else dom_a.y[:n]
        return ArrayData(x=dom_a.x[:n], y=y, kind=dom_a.kind, classes=dom_a.classes, x_b=x_b[order])

    def available(cfg: DataConfig) -> Availability:
        found = [DATASETS.get(d).available(cfg) for d in dict.fromkeys((a, b))]
        missing = [f.where for f in found if not f.present]
        return Availability(not missing, "; ".join(missing) or "built from " + " and ".join(dict.fromkeys((a, b))))

    def files(cfg: DataConfig) -> list[Path]:
        return [p for d in dict.fromkeys((a, b)) for p in DATASETS.get(d).files(cfg)]

    base = DATASETS.get(a)
    parts_have_files = all(DATASETS.get(d).files is not None for d in (a, b))
    return register_dataset(DatasetSpec(name=name, description=description, kind=base.kind, profile=base.profile,
                                        load=load, available=available, train_defaults=dict(base.train_defaults),
                                        files=files if parts_have_files else None))


_pair("digits-inverted", "digits", None, invert,
      "two domains for translation: digits (A) and colour-inverted digits (B), unpaired; embedded")
_pair("digits-rotated", "digits", None, rotate,
      "two domains for translation: digits (A) and digits turned a quarter turn (B), unpaired; embedded")
_pair("fashion-inverted", "fashion-mnist", None, invert,
      "two domains for translation: Fashion-MNIST (A) and its colour inversion (B), unpaired")
_pair("ring8-grid25", "ring8", "grid25", None,
      "two domains for translation: 2-D points of ring8 (A) and grid25 (B), unpaired; generated")

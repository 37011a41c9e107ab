"""The in-memory data layer shared by every dataset.

A dataset loader returns an ``ArrayData`` (numpy arrays in a fixed format). ``load_data`` turns it into
``TensorData``: float tensors in [0, 1] (images) or raw coordinates (points), on the training device,
with a ``BatchStream`` that shuffles with its own generator and applies dynamic binarization and the
model's value range batch by batch. No DataLoader: data this size fits in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal, Optional

import numpy as np

if TYPE_CHECKING:  # torch is imported where tensors are made: `genlab datasets` lists without it
    import torch

from ..config import DataConfig
from ..errors import DataError
from ..registry import DATASETS

Kind = Literal["image", "points"]
# what size of data the models' defaults are chosen for (the keys of a model's ``presets``, beside the kinds):
# 2-D mixtures, images under 16 px (the 8x8 digits), 28x28 images (MNIST, Fashion-MNIST, their colour
# versions), 32x32 colour (CIFAR-10), 64x64 colour (CelebA). A registered dataset states its profile; the
# user's own files (npz, folder) get the one their size says (``shape_profile``).
PROFILES = ("points", "small-image", "image-28", "image-32", "image-64")
SQUARE_PROFILES = {28: "image-28", 32: "image-32", 64: "image-64"}
MAX_CLASSES = 100_000  # labels are class indices; a larger one is a mistake (a one-hot of 1e9 needs terabytes)
Range = Literal["01", "pm1"]


@dataclass
class ArrayData:
    """What a dataset loader returns.

    x: images as uint8 (N, C, H, W) in 0..255 or float32 (N, C, H, W) in [0, 1]; points as float32 (N, D).
    y: int64 (N,) class labels, or None.
    x_b: a second domain for translation models (``data/pairs.py``): N examples of the same shape and format
        as x, unpaired with them (independently shuffled); None for ordinary datasets.
    """

    x: np.ndarray
    y: Optional[np.ndarray]
    kind: Kind
    classes: Optional[list[str]] = None
    x_b: Optional[np.ndarray] = None


@dataclass
class Availability:
    present: bool
    where: str  # where the files are, or why they are not


@dataclass
class DatasetSpec:
    """A registry entry: how to load a dataset and whether its files are on this machine."""

    name: str
    description: str
    kind: Kind
    load: Callable[[DataConfig, str], ArrayData]  # (config, split) -> arrays
    available: Callable[[DataConfig], Availability] = lambda cfg: Availability(True, "built in")
    train_defaults: dict = field(default_factory=dict)  # TrainConfig values that suit this dataset
    # the files the loader reads (both splits; those present), which key the cached data fingerprint
    # (``data/fingerprint.py``); None for generated and embedded datasets
    files: Optional[Callable[[DataConfig], list[Path]]] = None
    recipe: dict = field(default_factory=dict)  # how a loader turns its files into arrays (change it with the loader)
    profile: str = ""  # one of PROFILES, where the dataset's size is known before loading it ("": the kind only)
    # for data whose kind and size only its files tell (the user's npz or folder): (kind, the examples' shape:
    # (..., H, W) images, (D,) points) read from the files as cheaply as they allow
    probe: Optional[Callable[[DataConfig], tuple[Kind, tuple[int, ...]]]] = None

    def __post_init__(self):
        if self.profile and self.profile not in PROFILES:
            raise ValueError(f"dataset {self.name!r}: profile {self.profile!r} is not one of {PROFILES}")

    def defaults_key(self, cfg: DataConfig) -> tuple[str, str]:
        """(kind, profile) whose defaults a model takes on this data (``GenerativeModel.defaults_for``): the
        registry's, or what the user's files hold: npz points take the points defaults, a folder of 32x32
        pictures those of 32x32 images."""
        return self.defaults_key_of(*self.probe(cfg)) if self.probe is not None else (self.kind, self.profile)

    def defaults_key_of(self, kind: str, shape) -> tuple[str, str]:
        """``defaults_key`` for data of `kind` whose examples have `shape` (as a run's saved data_info says)."""
        return (kind, shape_profile(kind, shape)) if self.probe is not None else (self.kind, self.profile)


def shape_profile(kind: str, shape) -> str:
    """The profile of data of `kind` whose examples have `shape` ((..., H, W) images, (D,) points): points;
    small-image under 16 px; image-28, image-32 or image-64 for those square sizes; "" (the kind's defaults
    only) for any other size."""
    if kind == "points":
        return "points"
    h, w = shape[-2:]
    if max(h, w) < 16:
        return "small-image"
    return SQUARE_PROFILES.get(h, "") if h == w else ""


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    return DATASETS.add(spec.name, spec)


@dataclass(frozen=True)
class DataInfo:
    """What a model needs to know about its data (saved in the run directory's config)."""

    name: str
    kind: Kind
    shape: tuple[int, ...]  # (C, H, W) or (D,)
    num_classes: int  # 0 when unlabelled
    range: Range  # value range the model sees for images
    binarized: bool
    domains: int = 1  # 2 for translation datasets, whose batches carry a second, unpaired domain x_b

    def to_data_space(self, x: torch.Tensor) -> torch.Tensor:
        """Model-space tensors -> data space: images in [0, 1], points unchanged."""
        if self.kind == "points":
            return x
        if self.range == "pm1":
            x = (x + 1) / 2
        return x.clamp(0, 1)

    def to_model_space(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "image" and self.range == "pm1":
            return x * 2 - 1
        return x


@dataclass
class Batch:
    x: torch.Tensor  # (B, C, H, W) or (B, D), in model space
    y: Optional[torch.Tensor]  # (B,) int64 or None
    x_b: Optional[torch.Tensor] = None  # the second domain of a translation dataset, shaped like x; else None


@dataclass
class TensorData:
    x: torch.Tensor  # float32, images in [0, 1] (Bernoulli probabilities when binarizing dynamically)
    y: Optional[torch.Tensor]
    info: DataInfo
    dynamic_binarize: bool = False
    classes: Optional[list[str]] = None
    x_b: Optional[torch.Tensor] = None  # the second domain (info.domains == 2), float32 like x

    def __len__(self) -> int:
        return self.x.shape[0]

    def batch(self, idx: torch.Tensor, generator: Optional[torch.Generator] = None) -> Batch:
        x = self._present(self.x.index_select(0, idx), generator)
        y = None if self.y is None else self.y.index_select(0, idx)
        x_b = None if self.x_b is None else self._present(self.x_b.index_select(0, idx), generator)
        return Batch(x, y, x_b)

    def _present(self, x: torch.Tensor, generator: Optional[torch.Generator]) -> torch.Tensor:
        """Stored images -> model space, binarized dynamically where configured."""
        import torch

        if self.dynamic_binarize:
            x = torch.bernoulli(x, generator=generator)
        return self.info.to_model_space(x)


class BatchStream:
    """Endless shuffled minibatches (drop-last), with all state needed for an exact resume."""

    def __init__(self, data: TensorData, batch_size: int, seed: int):
        import torch

        if batch_size > len(data):
            raise DataError(
                f"batch_size {batch_size} is larger than the dataset ({len(data)} examples); "
                f"lower it with batch_size=N"
            )
        self.data = data
        self.batch_size = batch_size
        self.generator = torch.Generator(device=data.x.device)
        self.generator.manual_seed(seed)
        self.batches_per_epoch = len(data) // batch_size
        self.perm = self._new_perm()
        self.pos = 0  # batches drawn from the current permutation
        self.drawn = 0  # batches drawn in all

    def _new_perm(self) -> torch.Tensor:
        import torch

        return torch.randperm(len(self.data), generator=self.generator, device=self.data.x.device)

    def next(self) -> Batch:
        if self.pos == self.batches_per_epoch:
            self.perm = self._new_perm()
            self.pos = 0
        idx = self.perm[self.pos * self.batch_size : (self.pos + 1) * self.batch_size]
        self.pos += 1
        self.drawn += 1
        return self.data.batch(idx, self.generator)

    @property
    def epoch(self) -> float:
        return self.drawn / self.batches_per_epoch

    def state_dict(self) -> dict:
        return {
            "generator": self.generator.get_state(),
            "perm": self.perm.cpu(),
            "pos": self.pos,
            "drawn": self.drawn,
        }

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self.perm = state["perm"].to(self.data.x.device)
        self.pos = int(state["pos"])
        self.drawn = int(state["drawn"])


def load_data(cfg: DataConfig, preferred_range: Range = "01", device: str | torch.device = "cpu", seed: int = 0,
              split: Optional[str] = None) -> TensorData:
    """Load a registered dataset and apply subset, binarization and value range."""
    import torch

    spec: DatasetSpec = DATASETS.get(cfg.dataset)
    split = split or cfg.split
    arrays = spec.load(cfg, split)
    x = _as_float(arrays.x)
    x_b = None if arrays.x_b is None else _as_float(arrays.x_b)
    y = None if arrays.y is None else np.ascontiguousarray(arrays.y, dtype=np.int64)
    if len(x) == 0:
        raise DataError(f"dataset {cfg.dataset!r} ({split}) has no examples")
    if y is not None and len(y) != len(x):
        raise DataError(f"dataset {cfg.dataset!r}: {len(x)} inputs but {len(y)} labels")
    if x_b is not None and x_b.shape != x.shape:
        raise DataError(f"dataset {cfg.dataset!r}: its two domains differ in shape, {x.shape} and {x_b.shape}")
    if arrays.kind == "image":
        if x.ndim != 4:
            raise DataError(f"dataset {cfg.dataset!r}: images must be (N, C, H, W), got shape {x.shape}")
        if cfg.binarize == "static":
            # one fixed Bernoulli draw per image of the whole split, the same in every run and every subset
            x = (np.random.default_rng(0).random(x.shape, dtype=np.float32) < x).astype(np.float32)
            if x_b is not None:
                x_b = (np.random.default_rng(1).random(x_b.shape, dtype=np.float32) < x_b).astype(np.float32)
        rng = preferred_range if cfg.range == "auto" else cfg.range
    else:
        if cfg.binarize != "none":
            raise DataError(f"binarize={cfg.binarize} applies to images; dataset {cfg.dataset!r} holds points")
        rng = "01"
    if cfg.subset:
        if cfg.subset > len(x):
            raise DataError(f"subset={cfg.subset} is larger than dataset {cfg.dataset!r} ({split}: {len(x)} "
                            f"examples); use subset=0 for all of it")
        # a seeded shuffle first, so that a subset holds every class
        order = np.random.default_rng(seed).permutation(len(x))[: cfg.subset]
        x = x[order]
        y = None if y is None else y[order]
        x_b = None if x_b is None else x_b[order]
    num_classes = 0
    if y is not None:
        num_classes = len(arrays.classes) if arrays.classes else check_num_classes(int(y.max()) + 1, cfg.dataset)
    info = DataInfo(
        name=cfg.dataset,
        kind=arrays.kind,
        shape=tuple(int(s) for s in x.shape[1:]),
        num_classes=num_classes,
        range=rng,
        binarized=cfg.binarize != "none",
        domains=1 if x_b is None else 2,
    )
    tx = torch.from_numpy(x).to(device)
    ty = None if y is None else torch.from_numpy(y).to(device)
    tb = None if x_b is None else torch.from_numpy(x_b).to(device)
    return TensorData(tx, ty, info, dynamic_binarize=cfg.binarize == "dynamic", classes=arrays.classes, x_b=tb)


def check_num_classes(num_classes: int, dataset: str) -> int:
    if num_classes > MAX_CLASSES:
        raise DataError(f"dataset {dataset!r}: the largest label is {num_classes - 1}, so genlab would make "
                        f"{num_classes} classes (at most {MAX_CLASSES:,}); labels must be class indices 0..K-1")
    return num_classes


def _as_float(x: np.ndarray) -> np.ndarray:
    """uint8 images in 0..255 -> float32 in [0, 1]; anything else -> contiguous float32."""
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / 255.0
    return np.ascontiguousarray(x, dtype=np.float32)

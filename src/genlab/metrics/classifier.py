"""The domain classifier: genlab's offline feature extractor for image datasets.

ImageNet Inception weights cannot be downloaded on machines without internet, and ImageNet features fit
28x28 grey digits poorly. genlab instead trains one small CNN per dataset, deterministically (a fixed seed
and the ``Recipe`` below), on the dataset's training split; its penultimate layer (``Recipe.features``
units) is the feature space of FID, KID and precision/recall, and its softmax gives the Inception-style
score and the class-coverage metric.

The weights are cached under ``<genlab cache>/evaluators/<dataset>-<key>/`` where ``key`` hashes everything
that changes them: the dataset and the options that change its images (path, image size, channels), the
split, the recipe, the architecture's version and genlab's version. The folder appears under its final
name only once complete, with ``info.json`` recording the key's contents and the test accuracy.

    genlab evaluator train fashion-mnist      # builds (or finds) it and prints its test accuracy
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from .. import __version__
from ..config import DataConfig, check
from ..data.files import cache_dir
from ..data.fingerprint import data_identity
from ..errors import DataError
from ..progress import Progress, announce

ARCH_VERSION = 1  # bump when DomainCNN changes shape or meaning
WEIGHTS = "model.safetensors"
INFO = "info.json"
# DataConfig fields that change the images a classifier is trained on (data_dir only says where to look)
DATA_KEYS = ("dataset", "path", "image_size", "channels", "shape", "test_fraction")


@dataclass(frozen=True)
class Recipe:
    """How a domain classifier is trained (Adam with a cosine-decayed learning rate, cross-entropy)."""

    epochs: int = 4
    min_steps: int = 400  # small datasets (digits: 1,500 images) still get enough updates
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    widths: tuple[int, int, int] = (32, 64, 128)
    features: int = 128  # size of the penultimate layer: the feature space
    seed: int = 0

    def __post_init__(self):
        check(self.epochs >= 1, "epochs", "must be >= 1")
        check(self.batch_size >= 1, "batch_size", "must be >= 1")
        check(self.lr > 0, "lr", "must be > 0")
        check(self.features >= 2, "features", "must be >= 2")


# per-dataset recipes (plain data); datasets not named here use Recipe()
RECIPES: dict[str, Recipe] = {}


def recipe_for(dataset: str) -> Recipe:
    return RECIPES.get(dataset, Recipe())


class DomainCNN(nn.Module):
    """(B, C, H, W) in [0, 1] -> logits (B, K); ``features`` gives the penultimate layer (B, F).

    Three 3x3 conv-BN-ReLU blocks (max-pooling after the first two), adaptive average pooling to 3x3, a
    ReLU layer of F units, dropout, a linear map to K classes. Works for any image size (8x8 digits too).
    """

    def __init__(self, channels: int, num_classes: int, widths: tuple[int, int, int], features: int):
        super().__init__()
        blocks: list[nn.Module] = []
        ch = channels
        for i, w in enumerate(widths):
            blocks += [nn.Conv2d(ch, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
            if i < len(widths) - 1:
                blocks.append(nn.MaxPool2d(2, ceil_mode=True))
            ch = w
        blocks.append(nn.AdaptiveAvgPool2d(3))
        self.body = nn.Sequential(*blocks)
        self.penultimate = nn.Sequential(nn.Flatten(), nn.Linear(ch * 9, features), nn.ReLU())
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(features, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.penultimate(self.body(x * 2 - 1))  # (B, F); centred input

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))


@dataclass
class Classifier:
    """A trained domain classifier with what identifies it."""

    net: DomainCNN
    key: str  # hash of everything that affects the weights
    folder: Path
    info: dict  # contents of info.json: test accuracy, recipe, data, versions


def classifier_key(data: dict, recipe: Recipe, split: str = "train") -> tuple[str, dict]:
    """(hex key, the dict it hashes) for a classifier trained on `data` (DataConfig fields) and `split`."""
    identity = {
        "data": data_identity(_view(data)),  # the content of the images it sees, not their path or binarization
        "split": split,
        "recipe": dataclasses.asdict(recipe),
        "arch_version": ARCH_VERSION,
        "genlab_version": __version__,
    }
    blob = json.dumps(identity, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16], identity


def classifier_folder(data: dict, recipe: Recipe) -> Path:
    key, _ = classifier_key(data, recipe)
    return cache_dir() / "evaluators" / f"{data['dataset']}-{key}"


def _view(data: dict) -> dict:
    """The classifier's view of a dataset (DataConfig fields): grey-level images in [0, 1], no binarization, no
    subset. Runs on the same images binarized or not share one classifier."""
    return {k: data[k] for k in (*DATA_KEYS, "data_dir", "download") if k in data}


def _data_config(data: dict) -> DataConfig:
    return DataConfig(**_view(data))


def load_classifier(data: dict, recipe: Optional[Recipe] = None, device: str = "cpu", build: bool = True,
                    progress: Optional[bool] = None) -> Classifier:
    """The cached classifier for `data` (a dict of DataConfig fields); trained first when missing and `build`.
    `recipe`: default the dataset's (``recipe_for``)."""
    recipe = recipe or recipe_for(data["dataset"])
    folder = classifier_folder(data, recipe)
    if not (folder / WEIGHTS).exists():
        if not build:
            raise DataError(f"no domain classifier for {data['dataset']!r} in {folder.parent}; "
                            f"build it with `genlab evaluator train {data['dataset']}`")
        train_classifier(data, recipe, progress=progress)
    info = json.loads((folder / INFO).read_text())
    net = DomainCNN(info["channels"], info["num_classes"], recipe.widths, recipe.features)
    net.load_state_dict(load_file(str(folder / WEIGHTS)))
    net.to(device).eval()
    return Classifier(net, info["key"], folder, info)


def train_classifier(data: dict, recipe: Recipe = Recipe(), progress: Optional[bool] = None) -> Path:
    """Train the domain classifier for `data` deterministically and store it atomically; returns its folder."""
    from ..data.base import load_data

    key, identity = classifier_key(data, recipe)
    final = classifier_folder(data, recipe)
    dcfg = _data_config(data)
    train = load_data(dcfg, split="train")
    test = load_data(dcfg, split="test")
    if train.info.kind != "image":
        raise DataError(f"the domain classifier is for images; {data['dataset']!r} holds points (use --features raw)")
    if train.y is None or train.info.num_classes < 2:
        raise DataError(f"dataset {data['dataset']!r} has no class labels, so genlab cannot train a domain "
                        f"classifier for it; use --features inception (or raw)")
    c, k = train.info.shape[0], train.info.num_classes
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(recipe.seed)
    flush = torch.set_flush_denormal(True)  # Adam's tiny second moments otherwise slow the CPU tenfold
    try:
        with torch.random.fork_rng():  # initialization and dropout draw from the global generator: seed it,
            torch.manual_seed(recipe.seed)  # and leave the caller's global state as it was
            with announce(f"training the evaluator classifier for {data['dataset']} once ({len(train):,} images, "
                          f"{_steps(recipe, len(train)):,} steps); next time it is read from {final.parent}",
                          show=progress):
                net, steps = _fit(train, recipe, gen, c, k, data["dataset"], progress)
    finally:
        torch.set_flush_denormal(False) if flush else None
    acc = accuracy(net, test.x, test.y)
    info = {
        "key": key, **identity, "channels": c, "num_classes": k, "classes": train.classes,
        "n_train": len(train), "n_test": len(test), "steps": steps, "test_accuracy": acc,
        "train_seconds": round(time.perf_counter() - t0, 1),
    }
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
    try:
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp / WEIGHTS))
        (tmp / INFO).write_text(json.dumps(info, indent=2) + "\n")
        if final.exists():  # built meanwhile by another process: the same recipe gives the same weights
            shutil.rmtree(tmp)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def _steps(recipe: Recipe, n: int) -> int:
    """Optimizer steps of a classifier's training on n images."""
    return max(recipe.epochs * max(1, n // recipe.batch_size), recipe.min_steps)


def _fit(train, recipe: Recipe, gen: torch.Generator, c: int, k: int, name: str,
         progress: Optional[bool]) -> tuple[DomainCNN, int]:
    net = DomainCNN(c, k, recipe.widths, recipe.features)
    n = len(train)
    steps = _steps(recipe, n)
    opt = torch.optim.Adam(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=steps, pct_start=0.15)
    net.train()
    bar = Progress(steps, f"training the {name} classifier", show=progress)
    perm, pos = torch.randperm(n, generator=gen), 0
    for _ in range(steps):
        if pos + recipe.batch_size > n:
            perm, pos = torch.randperm(n, generator=gen), 0
        idx = perm[pos: pos + recipe.batch_size]
        pos += recipe.batch_size
        loss = F.cross_entropy(net(train.x[idx]), train.y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        bar.note(loss=loss.item())
        bar.update()
    bar.close()
    return net.eval(), steps


@torch.no_grad()
def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    right = 0
    for i in range(0, len(x), batch_size):
        right += (net(x[i: i + batch_size]).argmax(1) == y[i: i + batch_size]).sum().item()
    return right / len(x)

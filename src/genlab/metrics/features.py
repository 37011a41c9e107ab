"""Feature extractors for the sample-quality metrics (the first link of features -> statistics -> metric).

An extractor maps a batch in data space (images (B, C, H, W) in [0, 1], or points (B, D)) to named
arrays: ``features`` (B, F) and, when it is a classifier, ``probs`` (B, K). Each one has an ``identity``
(a hash of its weights, or the package version that fixes them) stored beside every number computed
with it, so numbers from different feature spaces are never mistaken for one another.

- ``classifier``: genlab's domain classifier for the run's dataset (``metrics/classifier.py``), trained
  on first use and cached. The default for images: it works offline.
- ``inception``: ImageNet Inception-v3 pool features (2048) and logits, through torch-fidelity (the
  optional extra ``genlab[inception]``), for numbers comparable with papers. Grey images are tiled to 3
  channels; torch-fidelity resizes to 299x299 itself. Its weights are downloaded once by torch-fidelity,
  or read from ``$GENLAB_INCEPTION_WEIGHTS`` on machines without internet.
- ``raw``: the data itself (flattened): the default for 2-D points.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import torch

from ..errors import ConfigError, DataError
from ..registry import Registry

INCEPTION_WEIGHTS_ENV = "GENLAB_INCEPTION_WEIGHTS"


@dataclass
class Extractor:
    """A ready feature extractor: ``fn`` maps a batch (B, ...) in data space to named (B, .) tensors."""

    name: str
    identity: str
    fn: Callable[[torch.Tensor], dict[str, torch.Tensor]]
    has_probs: bool
    about: dict = field(default_factory=dict)  # stored with results (e.g. the classifier's test accuracy)
    doubt: str = ""  # why numbers on these features cannot be trusted (a classifier near chance), or ""

    def settings(self) -> dict:
        return {"features": self.name, "features_id": self.identity, **self.about}


NEAR_CHANCE = 0.25  # a classifier less than this share of the way from chance to perfect is "near chance"


@dataclass
class FeatureSpec:
    description: str
    kinds: tuple[str, ...]  # data kinds it applies to ("image", "points")
    build: Callable[[dict, str, Optional[bool]], Extractor]  # (run's data config, device, progress) -> Extractor
    # (run's data config) -> what fixes the features, known without building them (a stored evaluation's key)
    key: Callable[[dict], str]


FEATURES: Registry = Registry("feature extractor")


def register_features(name: str, description: str, kinds: tuple[str, ...],
                      key: Optional[Callable[[dict], str]] = None):
    def add(build):
        FEATURES.add(name, FeatureSpec(description, kinds, build, key or (lambda data_cfg: name)))
        return build

    return add


def default_features(kind: str) -> str:
    return "raw" if kind == "points" else "classifier"


def features_key(name: str, data_cfg: dict) -> str:
    """What fixes extractor `name`'s features for a run's data, without building it (no training, no
    download): part of the key of every stored number computed with them."""
    return FEATURES.get(name).key(data_cfg)


def build_extractor(name: str, data_cfg: dict, kind: str, device: str = "cpu",
                    progress: Optional[bool] = None) -> Extractor:
    spec: FeatureSpec = FEATURES.get(name)
    if kind not in spec.kinds:
        usable = [n for n, s in FEATURES.items() if kind in s.kinds]
        raise ConfigError(f"--features {name} does not apply to {kind} data; choose one of: {', '.join(usable)}")
    return spec.build(data_cfg, device, progress)


@torch.no_grad()
def extract(extractor: Extractor, x: torch.Tensor, batch_size: int = 500, device: str = "cpu") -> dict[str, np.ndarray]:
    """Features of every row of x (N, ...), computed batch by batch: {"features": (N, F), ["probs": (N, K)]}."""
    if batch_size < 1:
        raise ConfigError("--batch-size must be at least 1")
    parts: dict[str, list[torch.Tensor]] = {}
    for i in range(0, len(x), batch_size):
        for key, value in extractor.fn(x[i: i + batch_size].to(device)).items():
            parts.setdefault(key, []).append(value.float().cpu())
    return {key: torch.cat(v).numpy() for key, v in parts.items()}


def weights_hash(state: dict[str, torch.Tensor]) -> str:
    """A short hash of a network's weights: the identity of a learned feature space."""
    h = hashlib.sha256()
    for name in sorted(state):
        h.update(name.encode())
        h.update(state[name].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


# ----------------------------------------------------------------------------------------------------


@register_features("raw", "the data itself, flattened (2-D points; pixels for images)", ("points", "image"))
def _raw(data_cfg: dict, device: str, progress: Optional[bool]) -> Extractor:
    return Extractor("raw", "raw", lambda x: {"features": x.flatten(1)}, has_probs=False)


def _classifier_key(data_cfg: dict) -> str:
    from .classifier import classifier_key, recipe_for

    return "classifier-" + classifier_key(data_cfg, recipe_for(data_cfg["dataset"]))[0]


def _inception_key(data_cfg: dict) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"torch-fidelity-{version('torch-fidelity')}-inception-v3-compat-2048"
    except PackageNotFoundError:
        return "torch-fidelity-inception-v3-compat-2048"


@register_features("classifier", "genlab's domain classifier for the dataset: penultimate layer and softmax "
                   "(trained once and cached; works offline)", ("image",), key=_classifier_key)
def _classifier(data_cfg: dict, device: str, progress: Optional[bool]) -> Extractor:
    from .classifier import load_classifier

    clf = load_classifier(data_cfg, device=device, progress=progress)
    net = clf.net

    def fn(x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = net.features(x)
        return {"features": h, "probs": torch.softmax(net.head(h), dim=1)}

    about = {"classifier_test_accuracy": round(clf.info["test_accuracy"], 4), "classifier_key": clf.key}
    doubt = near_chance(clf.info["test_accuracy"], clf.info["num_classes"], data_cfg["dataset"])
    if doubt:
        about["classifier_near_chance"] = True  # stored with the results: compare keeps them apart
    return Extractor("classifier", f"classifier-{clf.key}-{weights_hash(net.state_dict())}", fn,
                     has_probs=True, about=about, doubt=doubt)


def near_chance(accuracy: float, num_classes: int, dataset: str) -> str:
    """Why a classifier's features mean nothing, when its test accuracy is within a quarter of the way from
    chance (1/K) to perfect (32.5% for 10 classes, 62.5% for 2); "" when it is better than that."""
    chance = 1 / num_classes
    if accuracy >= chance + NEAR_CHANCE * (1 - chance):
        return ""
    return (f"the evaluator classifier for {dataset!r} is near chance: {accuracy:.1%} correct on its test split "
            f"against {chance:.1%} for guessing, so distances between its features say little about the images "
            f"(labels that are not class indices, or a split sorted by label, do this)")



@register_features("inception", "ImageNet Inception-v3 (pool 2048, logits) via torch-fidelity, as in papers "
                   "(optional extra genlab[inception]; downloads its weights once)", ("image",), key=_inception_key)
def _inception(data_cfg: dict, device: str, progress: Optional[bool]) -> Extractor:
    try:
        import torch_fidelity
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    except ImportError:
        raise ConfigError("--features inception needs torch-fidelity, which is not installed: "
                          "pip install 'genlab[inception]' (or pip install torch-fidelity); "
                          "without it, use --features classifier (the default, offline)") from None
    weights = os.environ.get(INCEPTION_WEIGHTS_ENV) or None
    if weights and not os.path.isfile(weights):
        raise DataError(f"${INCEPTION_WEIGHTS_ENV} names {weights}, which is not a file")
    try:
        net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                          feature_extractor_weights_path=weights)
    except Exception as e:  # urllib / hub errors when the weights cannot be fetched
        raise DataError(
            f"torch-fidelity could not load the Inception weights ({type(e).__name__}: {e}). On a machine "
            f"without internet, download weights-inception-2015-12-05-6726825d.pth (torch-fidelity's release "
            f"v0.2.0) elsewhere and point ${INCEPTION_WEIGHTS_ENV} at it; or use --features classifier"
        ) from None
    net = net.to(device).eval()

    def fn(x: torch.Tensor) -> dict[str, torch.Tensor]:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # grey images tiled to 3 channels
        pool, logits = net((x * 255).round().clamp(0, 255).to(torch.uint8))
        return {"features": pool, "probs": torch.softmax(logits, dim=1)}

    version = getattr(torch_fidelity, "__version__", "unknown")
    return Extractor("inception", f"torch-fidelity-{version}-inception-v3-compat-2048", fn, has_probs=True)

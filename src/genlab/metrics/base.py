"""The evaluation layer: the metric registry, the evaluation settings and what a metric may read.

A metric is a registered function ``fn(ctx) -> dict`` of a finished run directory (never of the trainer's
internals): it returns a flat dict of numbers together with the settings they were computed with.

- ``EvalConfig``: every setting of an evaluation, typed and validated when built (errors name the field and
  its flag). Each setting means one thing for every metric: ``k`` importance samples per data example,
  ``n_data`` data examples scored, ``n_samples`` generated samples. A metric declares at registration which
  of the metric-specific settings it reads and its default for each (``genlab metrics`` lists them); the
  other defaults are the fields' own.
- ``EvalContext``: what a metric reads: the run's config, its trained model and data, and memoized methods
  for what several metrics share (the scored examples, log importance weights, generated samples, real
  features, feature sets), each computed once per evaluation.
- Stored evaluations: every result is kept in ``DIR/eval-cache/METRIC-KEY.json``, KEY a hash of everything
  that changes the number (the metric's resolved settings, the evaluation seed and device type, the
  feature extractor's identity, the data's identity, the model and its config, the evaluated checkpoint's step
  and a hash of its weights, genlab's version), so any caller re-uses a stored number and never a stale one.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import json
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Optional

import numpy as np
import torch

from .. import __version__
from ..checkpoint import BEST, BEST_INFO, WEIGHTS, find_checkpoint, step_of
from ..config import EVAL_SETTINGS as SETTINGS
from ..config import DataConfig, from_dict
from ..data.base import Batch, TensorData, load_data
from ..data.files import cache_dir
from ..data.fingerprint import data_identity
from ..distributed import SINGLE, Dist
from ..errors import ConfigError, RunDirError
from ..load import load_trained, read_run, relocated
from ..losses import iwae_bound
from ..models.base import Encodes, HasLikelihood, InfersCodes, Translates
from ..registry import MODELS, Registry
from ..rundir import CHECKPOINTS, EVAL_CACHE, EVALUATION, atomic_path, read_json, write_json
from .features import FEATURES, Extractor, build_extractor, default_features, extract, features_key
from .importance import importance_terms
from .samples import (REAL_SUBSET_SEED, SAMPLES_SEED, SampleSize, Sets, draw_samples, other_split, real_examples,
                      real_features_key)


STORED = EVAL_CACHE  # every stored result, one file per key (EVALUATION: the latest result of each metric)

# what a model must offer for a metric that needs a capability, in words
CAPABILITIES = {
    Encodes: "an encoder and a decoder",
    HasLikelihood: "a likelihood to estimate (log importance weights from an encoder q(z|x))",
    Translates: "a translation between two domains (a translation model)",
    InfersCodes: "latent codes that it reads back from data (a categorical or continuous code)",
}


class NotApplicable(ConfigError):
    """A metric that does not apply to this run (e.g. NLL for a model without an encoder)."""


def _check(ok: bool, name: str, why: str) -> None:
    """Raise a ConfigError naming the field and, for the metric-specific settings, its flag."""
    if not ok:
        flag = SETTINGS[name][0] if name in SETTINGS else "--" + name.replace("_", "-")
        raise ConfigError(f"invalid value for '{name}' ({flag}): {why}")


LOWER, HIGHER, NEITHER = "lower", "higher", "neither"  # which way a number is better
# the kinds of metric, in the order tables show them
KINDS = ("likelihood", "sample quality", "coverage", "reconstruction", "codes")


@dataclass(frozen=True)
class Value:
    """How to read one number a metric returns: which way is better (`direction`: lower, higher, or neither for
    counts, spreads and numbers best near a target), the scale tables show it at (KID x1000, as papers print
    it; stored raw) and the key of its standard error. A key KEY_real in the same result is KEY computed
    between two sets of real examples (the floor a model is read against) and reads like KEY."""

    direction: Literal["lower", "higher", "neither"]
    scale: float = 1.0
    se: str = ""

    def __post_init__(self):
        if self.direction not in (LOWER, HIGHER, NEITHER):
            raise ValueError(f"direction must be {LOWER}, {HIGHER} or {NEITHER}, got {self.direction!r}")


@dataclass(frozen=True)
class Metric:
    """A registered metric: its function, what it reads and how to read what it returns."""

    name: str
    fn: Callable[["EvalContext"], dict]
    description: str
    settings: dict[str, Any]  # the metric-specific settings (config.EVAL_SETTINGS) it reads, with its defaults
    kind: str  # one of KINDS
    values: dict[str, Value]  # every number it returns (a key may hold * for per-layer keys), as tables read it
    needs: Optional[type] = None  # a capability (a Protocol of models/base.py) the model must have
    applies: Optional[Callable[[dict], Optional[str]]] = None  # (run config) -> why it does not apply, or None
    hint: str = ""  # what to do instead, said when it does not apply
    features: Optional[str] = None  # a fixed feature extractor (the asked one when it reads "features")

    def why_not(self, run_config: dict) -> Optional[str]:
        """Why this metric does not apply to a run with this config, or None when it does."""
        if self.needs is not None:
            model = run_config["model"]
            if not issubclass(MODELS.get(model), self.needs):
                having = [n for n, cls in MODELS.items() if issubclass(cls, self.needs)]
                return (f"it needs a model with {CAPABILITIES[self.needs]}, and {model!r} has none (registered "
                        f"models that have one: {', '.join(having)})" + (f"; {self.hint}" if self.hint else ""))
        return self.applies(run_config) if self.applies else None

    def value(self, key: str) -> Optional[Value]:
        """How the number `key` of this metric's results reads (KEY_real reads as KEY), or None if undeclared."""
        for name in (key, key.removesuffix("_real")):
            if name in self.values:
                return self.values[name]
            for pattern, v in self.values.items():
                if "*" in pattern and fnmatch.fnmatchcase(name, pattern):
                    return v
        return None

    def undeclared(self, result: dict) -> list[str]:
        """The numbers of a result of this metric that `values` does not say how to read."""
        errors = {v.se for v in self.values.values() if v.se}
        return [k for k, v in result.items() if isinstance(v, (int, float)) and not isinstance(v, bool)
                and k not in errors and self.value(k) is None]

    def check(self, ctx: "EvalContext") -> None:
        why = self.why_not(ctx.run_config)
        if why:
            raise NotApplicable(f"invalid value for 'metrics' (--metrics): {self.name} does not apply to "
                                f"{ctx.path}: {why}")

    def defaults_text(self) -> str:
        """Its settings and defaults, as `genlab metrics` lists them."""
        shown = [name if value is None and name == "features" else f"{name}={'all' if value is None else value}"
                 for name, value in self.settings.items()]
        return ", ".join(shown + ([f"features={self.features} (fixed)"] if self.features else []))

    def __call__(self, ctx: "EvalContext") -> dict:
        """The metric of one run, with `ctx`'s settings resolved for it (direct calls; `evaluate` also
        stores the result)."""
        self.check(ctx)
        return self.fn(ctx.for_metric(self))


METRICS: Registry = Registry("metric")


def register_metric(name: str, description: str, kind: str, values: dict[str, Value | str],
                    settings: Optional[dict[str, Any]] = None, needs: Optional[type] = None,
                    applies: Optional[Callable[[dict], Optional[str]]] = None, hint: str = "",
                    features: Optional[str] = None):
    """Register ``fn(ctx) -> dict`` as metric `name` of `kind` (one of KINDS), returning the numbers `values`
    (a key and its Value, or only its direction); the decorated name becomes the ``Metric`` (callable)."""
    unknown = sorted(set(settings or {}) - set(SETTINGS))
    if unknown:
        raise ValueError(f"metric {name!r} reads unknown settings {unknown}; known: {sorted(SETTINGS)}")
    if kind not in KINDS:
        raise ValueError(f"metric {name!r} has unknown kind {kind!r}; known: {', '.join(KINDS)}")
    if not values:
        raise ValueError(f"metric {name!r} declares no values: say which way each number it returns is better")
    read = {k: v if isinstance(v, Value) else Value(v) for k, v in values.items()}

    def add(fn):
        return METRICS.add(name, Metric(name, fn, description, dict(settings or {}), kind, read, needs, applies,
                                        hint, features))

    return add


# ----------------------------------------------------------------------------------------------------
# settings


@dataclass(frozen=True)
class EvalConfig:
    """Every setting of an evaluation. The metric-specific ones (``SETTINGS``) left None take the default
    of each metric that reads them; setting one that none of the chosen metrics reads is an error."""

    metrics: tuple[str, ...] = ()  # registered metric names (empty: a context for direct metric calls)
    split: Literal["train", "test"] = "test"  # the data split to score or compare with
    k: Optional[int] = None  # importance samples per data example (nll, elbo)
    n_data: Optional[int] = None  # data examples scored (likelihood, active units, reconstruction, cycle)
    n_samples: Optional[int] = None  # generated samples, compared with as many real examples
    features: Optional[str] = None  # feature extractor of the sample-quality metrics
    kid_subsets: Optional[int] = None
    kid_subset_size: Optional[int] = None
    critic_steps: Optional[int] = None
    diversity: Optional[str] = None  # all pairs, or within-class
    seed: int = 0  # every random draw of the evaluation is seeded from it
    batch_size: int = 500  # examples per batch while computing features (does not change results)
    device: str = "cpu"
    checkpoint: str = "latest"  # the checkpoint evaluated: latest, best (kept by best=METRIC) or step-N
    force: bool = False  # report numbers on features that cannot be trusted (a classifier near chance)
    data_path: Optional[str] = None  # the run's npz file or image folder, moved since training (the same data)
    data_dir: Optional[str] = None  # where the run's dataset files are now, moved since training

    def __post_init__(self):
        metrics = self.metrics.split(",") if isinstance(self.metrics, str) else self.metrics
        object.__setattr__(self, "metrics", tuple(m.strip() for m in metrics if m.strip()))
        for name in self.metrics:
            _check(name in METRICS, "metrics", f"unknown metric {name!r}; choose from: {', '.join(METRICS.names())}")
        _check(len(set(self.metrics)) == len(self.metrics), "metrics", "a metric is named twice")
        _check(self.split in ("train", "test"), "split", f"must be train or test, got {self.split!r}")
        for name, low in (("k", 1), ("n_data", 1), ("n_samples", 2), ("kid_subsets", 1), ("kid_subset_size", 2),
                          ("critic_steps", 1), ("batch_size", 1), ("seed", 0)):
            value = getattr(self, name)
            if value is not None:
                _check(isinstance(value, int) and not isinstance(value, bool), name, f"must be an integer, got {value!r}")
                _check(value >= low, name, f"must be >= {low}, got {value}")
        _check(isinstance(self.force, bool), "force", f"must be True or False, got {self.force!r}")
        _check(self.seed < 2**62, "seed", f"must be below 2**62, got {self.seed}")
        _check(self.checkpoint in ("latest", BEST) or re.fullmatch(r"step-\d+", str(self.checkpoint)) is not None,
               "checkpoint", f"write latest, best or step-N, got {self.checkpoint!r}")
        for name, (_, _, kind) in SETTINGS.items():
            value = getattr(self, name)
            if isinstance(kind, tuple) and value is not None:
                _check(value in kind, name, f"choose one of {', '.join(kind)}, got {value!r}")
        if self.features is not None:
            _check(self.features in FEATURES, "features", f"unknown feature extractor {self.features!r}; "
                   f"choose from: {', '.join(FEATURES.names())}")
        if self.metrics:
            chosen = [METRICS.get(m) for m in self.metrics]
            reads = list(dict.fromkeys(name for m in chosen for name in m.settings))
            for name, (_, meaning, _) in SETTINGS.items():
                if getattr(self, name) is not None and name not in reads:
                    readers = [n for n, m in METRICS.items() if name in m.settings]
                    theirs = ", ".join(f"{r} ({SETTINGS[r][0]})" for r in reads) or "none of these settings"
                    _check(False, name, f"none of the chosen metrics reads it ({meaning}: read by "
                           f"{', '.join(readers)}); {', '.join(self.metrics)} read {theirs}")

    def for_metric(self, metric: Metric) -> "EvalConfig":
        """These settings as `metric` reads them: its unset settings take its defaults, the others None."""
        values = {name: None for name in SETTINGS}
        for name, default in metric.settings.items():
            asked = getattr(self, name)
            values[name] = default if asked is None else asked
        return dataclasses.replace(self, metrics=(metric.name,), **values)

    @classmethod
    def from_options(cls, metrics, options: Optional[dict] = None) -> "EvalConfig":
        """Settings from the untyped options dict of earlier genlab versions (and of ``live_eval``), shared by
        every metric: each takes the settings it reads and ignores the others, and "n" means the data
        examples of the likelihood and reconstruction metrics and the samples of the others."""
        opts = {k: v for k, v in (options or {}).items() if v is not None}
        n = opts.pop("n", None)
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        reads = {s for m in names if m in METRICS for s in METRICS.get(m).settings}
        if names:
            opts = {k: v for k, v in opts.items() if k not in SETTINGS or k in reads}
        if n is not None:
            if "n_samples" in reads or not names:
                opts["n_samples"] = n
            if "n_data" in reads:
                opts["n_data"] = n
        return from_dict(cls, {**opts, "metrics": tuple(names)}, "evaluation options")


# ----------------------------------------------------------------------------------------------------
# what a metric reads


@dataclass(frozen=True)
class LogWeights:
    """Per-example summaries of the (N, K) log importance weights of the scored examples."""

    log_px: torch.Tensor  # (N,) float64: log-mean-exp over K (the IWAE bound, a stochastic lower bound on log p(x))
    elbo: torch.Tensor  # (N,) float64: the mean over K
    kl: torch.Tensor  # (N,) float64: E_q[log q(z|x) - log p(z)], the mean over K
    rec: torch.Tensor  # (N,) float64: -E_q log p(x|z), the mean over K (elbo = -rec - kl)
    settings: dict


def checkpoint_identity(run_path: Path, which: str = "latest") -> dict:
    """The checkpoint `which` (latest, best or step-N) of a run: its name, its step and a hash of its weights."""
    ckpt = find_checkpoint(Path(run_path) / CHECKPOINTS, which)
    h = hashlib.sha256()
    with open(ckpt / WEIGHTS, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    step = step_of(ckpt)
    if step is None:  # checkpoints/best: its step is in best.json
        step = int(read_json(ckpt / BEST_INFO).get("step", -1)) if (ckpt / BEST_INFO).is_file() else -1
    return {"name": which, "step": step, "weights": h.hexdigest()[:16]}


@dataclass
class EvalContext:
    """What a metric may read: the run directory and the evaluation's settings (never the trainer).

    One context serves one evaluation: ``for_metric`` gives each metric a view with its settings resolved,
    sharing the memo, so that what several metrics read (the model, the data, samples, features, log
    weights) is computed once."""

    path: Path
    config: EvalConfig = field(default_factory=EvalConfig)
    metric: Optional[Metric] = None
    _memo: dict = field(default_factory=dict, repr=False)
    dist: Dist = SINGLE  # this process's place in a torchrun job: the costly parts are split across the ranks

    def __post_init__(self):
        self.path = Path(self.path)
        if not isinstance(self.config, EvalConfig):  # an options dict (callers not yet on EvalConfig)
            self.config = EvalConfig.from_options((), self.config)

    def for_metric(self, metric: Metric) -> "EvalContext":
        return EvalContext(self.path, self.config.for_metric(metric), metric, self._memo, self.dist)

    def _memoized(self, key: tuple, compute: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def _setting(self, name: str):
        value = getattr(self.config, name)
        if value is None:
            raise ValueError(f"{name} is not set: resolve the settings for a metric first (EvalContext.for_metric)")
        return value

    # the run

    @property
    def device(self) -> str:
        return self.config.device

    @property
    def seed(self) -> int:
        return self.config.seed

    def generator(self, offset: int = 0) -> torch.Generator:
        """A fresh generator seeded from the evaluation seed (each metric draws from its own)."""
        return torch.Generator(device=self.device).manual_seed(self.seed + offset)

    @property
    def run_config(self) -> dict:
        """The run's config.json (read once)."""
        return self._memoized(("run_config",), lambda: relocated(read_run(self.path)[1], self.config.data_path,
                                                                 self.config.data_dir))

    @property
    def model(self):
        """The trained model (the chosen checkpoint, eval mode, on the evaluation's device)."""
        return self._memoized(("model",), lambda: load_trained(self.path, self.device, self.config.checkpoint)[2])

    def data(self, split: Optional[str] = None) -> TensorData:
        """The run's dataset (as configured for training, in the model's value range) for `split`."""
        split = split or self.config.split

        def load():
            dcfg = from_dict(DataConfig, {**self.run_config["data"], "subset": 0}, "data")
            return load_data(dcfg, preferred_range=self.run_config["data_info"]["range"], device=self.device,
                             seed=self.seed, split=split)

        return self._memoized(("data", split), load)

    # the scored examples and their log importance weights

    def eval_batch(self) -> tuple[Batch, dict]:
        """The first n_data examples of the split (model space) and the settings to store with numbers
        computed from them. Images of a run trained with dynamic binarization are binarized once, with the
        evaluation seed (the usual protocol); a statically binarized run's split is binarized as its training
        split was; grey images are scored as they were in training."""
        split, n_asked = self.config.split, self.config.n_data

        def build():
            data = self.data(split)
            n = len(data) if n_asked is None else min(n_asked, len(data))
            gen = torch.Generator(device=data.x.device).manual_seed(self.seed)
            batch = data.batch(torch.arange(n, device=data.x.device), gen)  # one binarization draw per image
            how = {"dynamic": f"binarized once with seed {self.seed} (training used dynamic binarization)",
                   "static": "statically binarized, as in training",
                   "none": "grey values, as in training"}[self.run_config["data"].get("binarize", "none")]
            return batch, {"split": split, "n_images": n, "binarization": how}

        return self._memoized(("eval_batch", split, n_asked), build)

    def log_weights(self) -> LogWeights:
        """Log importance weights of the scored examples with K = k samples each, summarized per example."""
        k = self._setting("k")

        def compute():
            model = self.model
            batch, settings = self.eval_batch()
            y = batch.y.to(model.device) if model.conditional else None
            t = importance_terms(model, batch.x.to(model.device), y, k, self.seed + 1, dist=self.dist)  # (N, K)
            lw = t.lw
            return LogWeights(iwae_bound(lw).double(), lw.double().mean(1), t.kl.double().mean(1),
                              -t.log_px.double().mean(1), settings)

        return self._memoized(("log_weights", self.config.split, self.config.n_data, k), compute)

    # generated samples, real examples and their features

    def sample_size(self) -> SampleSize:
        """N (n_samples, lowered to the size of the smaller split) and the two splits."""
        n_asked, split = self._setting("n_samples"), self.config.split

        def build():
            n = min(n_asked, len(self.data(split)), len(self.data(other_split(split))))
            return SampleSize(n, n_asked, split, other_split(split))

        return self._memoized(("sample_size", n_asked, split), build)

    def samples(self, n: int, seed_offset: int = SAMPLES_SEED) -> torch.Tensor:
        """n generated samples (data space, CPU), shared by the metrics of one evaluation."""
        return self._memoized(("samples", n, seed_offset),
                              lambda: draw_samples(self.model, n, self.seed + seed_offset, dist=self.dist))

    def real(self, split: str, n: int) -> torch.Tensor:
        """n real examples of `split` (data space, CPU): all in order, or a subset seeded by the evaluation."""
        return real_examples(self.data(split).x, n, self.seed + REAL_SUBSET_SEED)

    def features_name(self, name: Optional[str] = None) -> str:
        """The feature extractor a metric reads: `name`, the metric's own, the asked one, or the default."""
        fixed = self.metric.features if self.metric else None
        return name or fixed or self.config.features or default_features(self.run_config["data_info"]["kind"])

    def extractor(self, name: Optional[str] = None) -> Extractor:
        """The feature extractor (``features_name``), built once per evaluation."""
        name = self.features_name(name)
        return self._memoized(("extractor", name), lambda: self._trusted(build_extractor(
            name, self.run_config["data"], self.run_config["data_info"]["kind"], self.device)))

    def _trusted(self, ext: Extractor) -> Extractor:
        """`ext`, unless its features cannot be trusted: then an error, or with ``force`` a warning."""
        if ext.doubt and not self.config.force:
            raise ConfigError(f"{ext.doubt}. genlab does not report numbers on these features: use "
                                  f"--features raw (or inception), fix the data, or --force to report them anyway")
        if ext.doubt and self.dist.main:
            print(f"warning: {ext.doubt}; reporting anyway (--force)", file=sys.stderr)
        return ext

    def real_features(self, ext: Extractor, split: str, n: int) -> dict[str, np.ndarray]:
        """Features of n real examples of `split`, read from the genlab cache when computed before."""
        def compute():
            seed = self.seed + REAL_SUBSET_SEED
            data_cfg = self.run_config["data"]
            key = real_features_key(ext.identity, data_cfg, split, n, seed)
            file = cache_dir() / "real-features" / f"{data_cfg['dataset']}-{split}-{key}.npz"
            if file.exists():
                with np.load(file) as f:
                    return {k: f[k] for k in f.files}
            out = extract(ext, self.real(split, n), self.config.batch_size, self.device)
            file.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(file) as tmp:
                with open(tmp, "wb") as f:
                    np.savez(f, **out)
            return out

        return self._memoized(("real_features", ext.identity, split, n), compute)

    def feature_sets(self, features: Optional[str] = None) -> Sets:
        """Features of N reference examples, N samples and N examples of the other split."""
        ext = self.extractor(features)
        size = self.sample_size()

        def build():
            n = size.n
            fake = extract(ext, self.samples(n), self.config.batch_size, self.device)
            settings = {
                **ext.settings(), "n_real": n, "n_fake": n, "reference_split": size.split,
                "real_vs_real": f"{size.other} vs {size.split} examples (N={n} each)",
            }
            if size.n_asked != n:
                settings["n_asked"] = size.n_asked
            return Sets(self.real_features(ext, size.split, n), fake, self.real_features(ext, size.other, n), settings)

        return self._memoized(("feature_sets", ext.identity, size), build)

    # stored evaluations

    def checkpoint(self) -> dict:
        """The step and weights hash of the checkpoint the model is loaded from."""
        return self._memoized(("checkpoint",), lambda: checkpoint_identity(self.path, self.config.checkpoint))

    def stored_key(self) -> str:
        """A hash of everything that changes this metric's numbers on this run."""
        metric = self.metric
        if metric is None:
            raise ValueError("stored_key needs a context resolved for a metric (EvalContext.for_metric)")
        cfg = self.run_config
        identity = {
            "metric": metric.name,
            "settings": {name: getattr(self.config, name) for name in metric.settings},
            "split": self.config.split,
            "seed": self.seed,
            "device": torch.device(self.device).type,  # CPU and CUDA generators draw different numbers
            "model": cfg["model"],
            "model_config": cfg["model_config"],
            "data": data_identity(cfg["data"]),
            "checkpoint": self.checkpoint(),
            "genlab_version": __version__,
        }
        if "features" in metric.settings or metric.features:
            identity["features"] = features_key(self.features_name(), cfg["data"])
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]

    def stored_file(self) -> Path:
        return self.path / STORED / f"{self.metric.name}-{self.stored_key()}.json"

    def stored(self) -> Optional[dict]:
        """This metric's stored result for exactly these settings, checkpoint and data, or None."""
        file = self.stored_file()
        if not file.exists():
            return None
        try:
            out = read_json(file)
        except RunDirError:  # a damaged entry is computed again
            return None
        return out if isinstance(out, dict) and isinstance(out.get("settings"), dict) else None

    def store(self, result: dict) -> None:
        file = self.stored_file()
        file.parent.mkdir(exist_ok=True)
        write_json(file, result)


def mean_se(v: torch.Tensor) -> tuple[float, float]:
    """The mean of v and its standard error (NaN for a single value)."""
    n = v.numel()
    se = v.std(unbiased=True).item() / math.sqrt(n) if n > 1 else float("nan")
    return v.mean().item(), se


__all__ = ["EVALUATION", "STORED", "SETTINGS", "NotApplicable", "Metric", "METRICS", "register_metric", "Value",
           "LOWER", "HIGHER", "NEITHER", "KINDS",
           "EvalConfig", "EvalContext", "LogWeights", "checkpoint_identity", "mean_se"]

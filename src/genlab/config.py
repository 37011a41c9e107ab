"""Typed dataclass configs, command-line overrides and their validation.

Every config is a plain dataclass whose fields have simple types (bool, int, float, str, ``Literal``
choices and tuples of ints). ``apply_overrides`` turns ``key=value`` strings from the command line into
typed values and rejects unknown keys with the list of valid ones.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Optional, Union

from .errors import ConfigError


@dataclass
class TrainConfig:
    """How long and how to train: owned by the trainer, the same for every model."""

    epochs: int = 10  # used when steps == 0
    steps: int = 0  # generator/model updates; overrides epochs when > 0
    batch_size: int = 64  # examples per step
    seed: int = 0  # seeds initialization, data order and noise: the same seed gives the same run
    device: Literal["auto", "cpu", "cuda"] = "auto"  # auto: cuda when PyTorch sees a GPU
    log_every: int = 50  # steps between metrics.jsonl lines
    ckpt_every: int = 0  # steps between checkpoints (0: at every epoch end and at the end)
    sample_every: int = 1  # epochs between fixed-noise sample grids (0: only at the end)
    grid_size: int = 64  # images in a sample grid
    keep_checkpoints: int = 2  # the latest checkpoints kept in the run directory
    # iwae: Burda et al.'s 8 stages, stretched to the length; linear: decay to 0 over the run (lets a GAN settle)
    lr_schedule: Literal["constant", "iwae", "linear"] = "constant"
    # the networks' arithmetic: bf16 / fp16 run them under autocast (losses stay float32; fp16 scales each
    # phase's gradients against underflow)
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    compile: bool = False  # torch.compile every network (CPU needs a C++ compiler)
    # CPU threads of PyTorch's operations while training; 0: 1 on small data (2-D points, 8x8 images: their
    # networks are too small for more to help, trainer.cpu_threads), else PyTorch's default
    threads: int = 0
    # evaluation during training (genlab.live_eval): `genlab evaluate`'s metrics on a checkpoint saved every
    # eval_every steps ('epoch': at each epoch's end) and at the end, as eval rows of metrics.jsonl; `best`
    # (a metric or one of its numbers, e.g. fid, nll, recall, max:prdc.density) keeps checkpoints/best
    eval_every: Union[int, Literal["epoch"]] = 0  # 0: once, at the end (when eval_metrics or best is set)
    eval_metrics: str = ""  # comma-separated metric names (see `genlab metrics`)
    best: str = ""  # the metric (or one of its numbers) whose best value keeps checkpoints/best; "": none
    eval_split: Literal["train", "test"] = "test"  # the data split the evaluations compare with
    eval_seed: int = 0  # seeds the evaluations' samples
    # the metric-specific settings of `genlab evaluate` (None: each metric's default)
    eval_k: Optional[int] = None  # nll: importance samples per image
    eval_n_data: Optional[int] = None  # data examples used
    eval_n_samples: Optional[int] = None  # samples drawn
    eval_features: Optional[str] = None  # feature extractor of the sample-quality metrics
    eval_kid_subsets: Optional[int] = None  # kid: number of subsets
    eval_kid_subset_size: Optional[int] = None  # kid: examples per subset
    eval_critic_steps: Optional[int] = None  # critic: training steps of the independent critic
    eval_diversity: Optional[Literal["all", "within-class"]] = None  # diversity: over all pairs or per class
    # several processes on CUDA GPUs: BatchNorm statistics over the global batch (SyncBatchNorm) instead of
    # each process's slice
    sync_bn: bool = False

    def __post_init__(self):
        check(self.epochs >= 0, "epochs", "must be >= 0")
        check(self.threads >= 0, "threads", "must be >= 0 (0: chosen for the data)")
        check(self.steps >= 0, "steps", "must be >= 0")
        check(self.epochs > 0 or self.steps > 0, "epochs", "set epochs or steps to a positive number")
        check(self.batch_size >= 1, "batch_size", "must be >= 1")
        check(self.log_every >= 1, "log_every", "must be >= 1")
        check(self.ckpt_every >= 0, "ckpt_every", "must be >= 0")
        check(self.sample_every >= 0, "sample_every", "must be >= 0")
        check(self.grid_size >= 1, "grid_size", "must be >= 1")
        check(self.keep_checkpoints >= 1, "keep_checkpoints", "must be >= 1")
        check(self.eval_every == "epoch" or (isinstance(self.eval_every, int) and self.eval_every >= 0),
              "eval_every", "must be a number of steps >= 0 or 'epoch'")
        evaluates = bool(self.eval_metrics.strip() or self.best.strip())
        check(evaluates or self.eval_every in (0, "0"), "eval_every",
              "set eval_metrics (or best) to say what to evaluate")
        check(not self.best.strip() or self.eval_every not in (0, "0"), "best",
              "keeps the best of the evaluations during training: set eval_every too (steps or epoch)")
        unread = [f.name for f in fields(self) if f.name.startswith("eval_") and f.name not in
                  ("eval_every", "eval_metrics", "eval_split", "eval_seed") and getattr(self, f.name) is not None]
        check(evaluates or not unread, unread[0] if unread else "eval_metrics",
              "nothing is evaluated during training: set eval_metrics")


@dataclass
class DataConfig:
    """Which data and how it is presented to the model."""

    dataset: str = "digits"  # a registered dataset (genlab datasets)
    split: Literal["train", "test"] = "train"  # the split trained on
    binarize: Literal["none", "dynamic", "static"] = "none"  # images as 0/1 pixels: dynamic draws them anew each epoch
    range: Literal["auto", "01", "pm1"] = "auto"  # auto: the model's preferred value range
    subset: int = 0  # use only the first N examples (after a seeded shuffle); 0: all
    data_dir: str = ""  # where to look first for data files (also $GENLAB_DATA)
    path: str = ""  # the file or folder for the 'npz' and 'folder' datasets (stored resolved in config.json)
    image_size: int = 0  # 'folder' datasets: resize to this size (0: keep the images' size)
    channels: int = 0  # 'folder' datasets: 1 (grey) or 3 (RGB); 0: decide from the images
    # 'npz' rows of D numbers: CxHxW reads them as images (1x28x28), points keeps them as points; "" (auto):
    # images when D = s*s or 3*s*s (s >= 8) and the values are pixels (uint8, or in [0, 1]), else points
    shape: str = ""
    # own data with no test split ('npz' with x (and y), a folder without test/): this share of the examples,
    # drawn with a fixed seed, is held out as the test split (so that every metric works); 0: train on all
    test_fraction: float = 0.1
    download: bool = True  # download missing files when the network allows

    def __post_init__(self):
        check(self.subset >= 0, "subset", "must be >= 0")
        check(self.image_size >= 0, "image_size", "must be >= 0")
        check(self.channels in (0, 1, 3), "channels", "must be 0 (auto), 1 or 3")
        check(0 <= self.test_fraction < 1, "test_fraction", "must be in [0, 1): the share held out for testing")
        check(self.shape in ("", "points") or image_shape(self.shape) is not None, "shape",
              f"write CxHxW with C = 1 or 3 (e.g. 1x28x28), or points; got {self.shape!r}")


def image_shape(text: str) -> Optional[tuple[int, int, int]]:
    """'1x28x28' -> (1, 28, 28); None when `text` is not C x H x W with C in 1, 3 and positive sizes."""
    parts = text.lower().split("x")
    if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
        return None
    c, h, w = (int(p) for p in parts)
    return (c, h, w) if c in (1, 3) and h > 0 and w > 0 else None


# The settings of `genlab evaluate` that only some metrics read, each with one meaning for every metric:
# its flag, what it sets, and its type (int, str, or a tuple of choices). metrics.base.EvalConfig holds them;
# each metric declares its defaults.
EVAL_SETTINGS = {
    "k": ("--k", "importance samples per data example", int),
    "n_data": ("--n-data", "data examples scored, the first of the split (default: all of it)", int),
    "n_samples": ("--n", "generated samples, compared with as many real examples", int),
    "features": ("--features", "feature space: classifier, inception or raw (default: classifier for images, "
                               "raw for points)", str),
    "kid_subsets": ("--kid-subsets", "number of KID subsets", int),
    "kid_subset_size": ("--kid-subset-size", "examples per KID subset", int),
    "critic_steps": ("--critic-steps", "training steps of the independent critic", int),
    "diversity": ("--diversity", "diversity over all pairs of samples, or per class (by the domain classifier) "
                                 "and averaged", ("all", "within-class")),
}


def check(ok: bool, name: str, why: str) -> None:
    """Raise a ConfigError naming the field when a validation fails."""
    if not ok:
        raise ConfigError(f"invalid value for '{name}': {why}")


# ----------------------------------------------------------------------------------------------------
# conversion


def to_dict(cfg) -> dict[str, Any]:
    return {f.name: _plain(getattr(cfg, f.name)) for f in fields(cfg)}


def _plain(v):
    return list(v) if isinstance(v, tuple) else v


def from_dict(cls, d: dict[str, Any], section: str = ""):
    """Build a config from a (saved) dict, converting lists back to tuples and checking keys."""
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ConfigError(f"unknown {section or cls.__name__} keys {unknown}; valid keys: {sorted(names)}")
    hints = typing.get_type_hints(cls)
    kwargs = {k: (tuple(v) if isinstance(v, list) and _is_tuple(hints[k]) else v) for k, v in d.items()}
    for k, v in kwargs.items():
        _finite(v, k)
    return cls(**kwargs)


def _finite(value, name: str):
    """`value`, unless it is a float NaN or infinity (JSON files and float() accept both; no setting means them)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"invalid value {value!r} for '{name}'; expected a finite number")
    return value


def _is_tuple(tp) -> bool:
    return typing.get_origin(tp) is tuple


def parse_value(tp, text: str, name: str):
    """Parse one command-line string into the type of a config field."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        choices = typing.get_args(tp)
        for c in choices:
            if str(c) == text:
                return c
        raise ConfigError(f"invalid value {text!r} for '{name}'; choose one of: {', '.join(map(str, choices))}")
    if origin in (typing.Union, types.UnionType):
        try:
            return _union(tp, parse_value, text, name)
        except ConfigError:
            if type(None) in typing.get_args(tp) and text.lower() in ("none", "null", ""):
                return None
            raise
    if origin is tuple:
        (elem, *_rest) = typing.get_args(tp)
        parts = [p for p in text.replace("x", ",").split(",") if p.strip()]
        return tuple(parse_value(elem, p.strip(), name) for p in parts)
    if tp is bool:
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"invalid value {text!r} for '{name}'; expected true or false")
    if tp in (int, float):
        try:
            return _finite(tp(text), name)
        except ValueError:
            raise ConfigError(f"invalid value {text!r} for '{name}'; expected {'an integer' if tp is int else 'a number'}") from None
    if tp is str:
        return text
    raise TypeError(f"config field '{name}' has unsupported type {tp!r}")


def _union(tp, convert, value, name: str):
    """The value as the first type of union `tp` (None left out) that `convert` accepts it as."""
    errors = []
    for arg in typing.get_args(tp):
        if arg is not type(None):
            try:
                return convert(arg, value, name)
            except ConfigError as e:
                errors.append(str(e))
    if len(errors) > 1:  # say every type it may take: "expected an integer, or choose one of: epoch"
        raise ConfigError(errors[0] + "".join(", or" + e.split(";", 1)[1] for e in errors[1:]))
    raise ConfigError(errors[0] if errors else f"invalid value {value!r} for '{name}'")


def coerce_value(tp, value, name: str):
    """A config field's value from a command-line string (``parse_value``) or a typed value (a JSON or YAML
    file, the Python API), checked against the field's type."""
    if isinstance(value, str) and tp is not str and not (typing.get_origin(tp) is Literal
                                                          and value in typing.get_args(tp)):
        return parse_value(tp, value, name)
    origin = typing.get_origin(tp)
    if origin is Literal:
        choices = typing.get_args(tp)
        for c in choices:
            if c == value and type(c) is type(value):
                return c
        raise ConfigError(f"invalid value {value!r} for '{name}'; choose one of: {', '.join(map(str, choices))}")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(tp):
            return None
        return _union(tp, coerce_value, value, name)
    if origin is tuple:
        if isinstance(value, int) and not isinstance(value, bool):
            value = (value,)
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"invalid value {value!r} for '{name}'; expected a list such as [512, 256]")
        return tuple(coerce_value(typing.get_args(tp)[0], v, name) for v in value)
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return _finite(float(value), name)
    if tp in (bool, int, str) and type(value) is tp:
        return value
    expected = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(tp, str(tp))
    raise ConfigError(f"invalid value {value!r} for '{name}'; expected {expected}")


def apply_overrides(sections: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Return new configs with ``overrides`` (``key`` or ``section.key`` -> a string as typed on the command
    line, or a typed value) applied.

    A bare key must belong to exactly one section. Unknown or ambiguous keys raise a ConfigError that
    lists the valid keys. Each rebuilt config runs its own validation.
    """
    changes: dict[str, dict[str, Any]] = {s: {} for s in sections}
    for raw_key, text in overrides.items():
        s, name = resolve_key(sections, raw_key)
        tp = typing.get_type_hints(type(sections[s]))[name]
        changes[s][name] = coerce_value(tp, text, raw_key)
    return {s: (dataclasses.replace(c, **changes[s]) if changes[s] else c) for s, c in sections.items()}


def resolve_key(sections: dict[str, Any], raw_key: str) -> tuple[str, str]:
    """(section, field name) of a ``key`` or ``section.key`` override; unknown or ambiguous keys raise a
    ConfigError that lists the valid keys."""
    valid = sorted(f"{s}.{f.name}" for s, c in sections.items() for f in fields(c))
    key = raw_key.replace("-", "_")
    if "." in key:
        s, name = key.split(".", 1)
        if s not in sections or name not in {f.name for f in fields(sections[s])}:
            raise ConfigError(_unknown(raw_key, valid))
        return s, name
    owners = [s for s, c in sections.items() if key in {f.name for f in fields(c)}]
    if not owners:
        raise ConfigError(_unknown(raw_key, valid))
    if len(owners) > 1:
        raise ConfigError(f"config key '{raw_key}' is ambiguous; write one of: {', '.join(f'{o}.{key}' for o in owners)}")
    return owners[0], key


def field_type(sections: dict[str, Any], raw_key: str):
    """The type hint of the config field a ``key`` or ``section.key`` names."""
    s, name = resolve_key(sections, raw_key)
    return typing.get_type_hints(type(sections[s]))[name]


def _unknown(key: str, valid: list[str]) -> str:
    short = sorted({v.split(".", 1)[1] for v in valid})
    close = difflib.get_close_matches(key.split(".")[-1], short, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown config key '{key}'{hint}; valid keys: {', '.join(valid)}"


# what a run's config.json records beside the settings (read back, never set)
RECORDED_KEYS = ("genlab_version", "created", "seed", "device", "processes", "data_info", "data_fingerprint",
                 "history", "resolved")  # seed and device: train.seed and train.device hold what was asked
SECTION_KEYS = {"train": "train", "data": "data", "model_config": "model"}


def read_config_file(path) -> tuple[Optional[str], dict[str, Any]]:
    """`genlab train --config FILE`: the model's name (None when the file does not say) and the overrides a
    JSON or YAML file holds. The file is a run's config.json (repeating that run) or one written by hand:
    sections ``train``, ``data``, ``model_config`` and/or any config key at the top level, e.g.
    ``{"model": "vae", "dataset": "digits", "epochs": 20, "latent_dim": 8}``."""
    import json
    from pathlib import Path

    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError(f"cannot read the config file {path}: {e.strerror or e}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise ConfigError(f"{path} is YAML, and reading YAML needs PyYAML: pip install pyyaml "
                              f"(or write the file as JSON)") from None
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ConfigError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    else:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"{path} is not valid JSON ({e.msg} at line {e.lineno}); YAML files end in .yaml") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} should hold an object of settings, not {type(raw).__name__}")
    model = raw.get("model")
    if model is not None and not isinstance(model, str):
        raise ConfigError(f"{path}: 'model' should name a model (see `genlab models`), not {model!r}")
    run_config = "data_info" in raw  # a run's config.json: its settings are in the sections
    overrides: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "model" or (run_config and key in RECORDED_KEYS) or (key == "preset" and value is None):
            continue
        if key in SECTION_KEYS:
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: '{key}' should be an object of settings, not {value!r}")
            overrides.update({f"{SECTION_KEYS[key]}.{k}": v for k, v in value.items()})
        else:
            overrides[key] = value
    return model, overrides


def parse_override_args(args: list[str]) -> dict[str, str]:
    """Turn ``key=value``, ``--key=value`` and ``--key value`` into a dict of strings."""
    out: dict[str, str] = {}
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("--"):
            a = a[2:]
            if "=" not in a:
                if i + 1 >= len(args) or args[i + 1].startswith("--"):
                    raise ConfigError(f"option '--{a}' needs a value (write --{a}=VALUE)")
                out[a] = args[i + 1]
                i += 2
                continue
        if "=" not in a:
            raise ConfigError(f"cannot read argument {args[i]!r}; config overrides are written key=value")
        k, v = a.split("=", 1)
        out[k] = v
        i += 1
    return out


__all__ = [
    "TrainConfig",
    "DataConfig",
    "EVAL_SETTINGS",
    "apply_overrides",
    "resolve_key",
    "field_type",
    "parse_override_args",
    "read_config_file",
    "parse_value",
    "coerce_value",
    "to_dict",
    "from_dict",
    "check",
    "field",
]

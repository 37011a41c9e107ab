"""The `genlab train` command that trains a run again, computed from its saved config.

The command names the model, the dataset, the length, the seed, the preset and every config field whose
saved value differs from what ``genlab train`` would choose without it (the dataclass defaults, then the
dataset's and the model's presets, then the named preset: the precedence of ``api.make_configs``). Fed back
to ``genlab train`` it gives the same resolved config, field for field (tests/test_report.py checks this
over every registered model); since training is seeded, it gives the same run.
"""

from __future__ import annotations

import json
import shlex
from typing import Optional

from ..config import DataConfig, TrainConfig, to_dict
from .read import registries

FLAGS = ("seed", "device")  # train fields that `genlab train` takes as --flags (besides the length)
SECTIONS = (("train", "train"), ("data", "data"), ("model", "model_config"))  # (override section, config.json key)


def _baseline(cfg: dict) -> dict[str, dict]:
    """What `genlab train MODEL --dataset D [--preset P]` resolves each field to, with no other option."""
    MODELS, DATASETS = registries()

    cls, spec = MODELS.get(cfg["model"]), DATASETS.get(cfg["data"]["dataset"])
    preset = cls.named_presets.get(cfg.get("preset"), {}) if cfg.get("preset") else {}
    info = cfg.get("data_info") or {}  # the user's own files: the defaults their kind and size took
    fitted = cls.defaults_for(*(spec.defaults_key_of(info["kind"], info["shape"]) if "shape" in info
                                else (spec.kind, spec.profile)))
    return {
        "train": {**to_dict(TrainConfig()), **spec.train_defaults, **fitted["train"], **preset.get("train", {})},
        "data": {**to_dict(DataConfig()), "dataset": spec.name, **preset.get("data", {})},
        "model": {**to_dict(cls.Config()), **fitted["model"], **preset.get("model", {})},
    }


def _text(v) -> str:
    """A value as `genlab train` parses it back (config.parse_value)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    if isinstance(v, (list, tuple)):
        return ",".join(_text(x) for x in v)
    return repr(v) if isinstance(v, float) else str(v)


def _same(a, b) -> bool:
    norm = lambda v: json.dumps(list(v) if isinstance(v, tuple) else v)  # noqa: E731
    return norm(a) == norm(b)


def train_command(cfg: dict, out: str) -> tuple[Optional[str], list[str]]:
    """(the command, notes): the command is None when this genlab cannot train the run's model or dataset."""
    MODELS, DATASETS = registries()

    model, dataset = cfg.get("model"), cfg.get("data", {}).get("dataset")
    if model not in MODELS or dataset not in DATASETS:
        return None, [f"this genlab has no {'model' if model not in MODELS else 'dataset'} "
                      f"{model if model not in MODELS else dataset!r}, so it cannot train this run again"]
    if cfg.get("preset") and cfg["preset"] not in MODELS.get(model).named_presets:
        return None, [f"model {model!r} has no preset {cfg['preset']!r} in this genlab"]
    base = _baseline(cfg)
    owners: dict[str, list[str]] = {}
    for section, _ in SECTIONS:
        for name in base[section]:
            owners.setdefault(name, []).append(section)
    train = cfg.get("train", {})
    words = ["genlab", "train", model, "--dataset", dataset, "--out", out]
    if train.get("steps"):
        words += ["--steps", str(train["steps"])]
        length = {"steps": train["steps"], "epochs": 0}  # --steps sets epochs=0 unless epochs=E is given too
    else:
        words += ["--epochs", str(train.get("epochs"))]
        length = {"epochs": train.get("epochs"), "steps": base["train"]["steps"]}
    base["train"].update(length)
    if cfg.get("preset"):
        words += ["--preset", cfg["preset"]]
    for name in FLAGS:
        if name in train and not _same(train[name], base["train"][name]):
            words += [f"--{name}", _text(train[name])]
            base["train"][name] = train[name]
    notes = []
    for section, key in SECTIONS:
        saved = cfg.get(key, {})
        unknown = sorted(set(saved) - set(base[section]))
        if unknown:
            notes.append(f"config.json's {key} has fields this genlab does not know ({', '.join(unknown)}); they "
                         f"are left out, so the command may not train the same run")
        for name, value in saved.items():
            if name in base[section] and not _same(value, base[section][name]):
                words.append(f"{name if len(owners[name]) == 1 else f'{section}.{name}'}={_text(value)}")
    return " ".join(shlex.quote(w) for w in words), notes


def section_defaults(cfg: dict) -> dict[str, dict]:
    """The baseline of each config.json section (for flagging the fields a run set), {} when unknown."""
    MODELS, DATASETS = registries()

    if cfg.get("model") not in MODELS or cfg.get("data", {}).get("dataset") not in DATASETS:
        return {}
    base = _baseline(cfg)
    return {key: base[section] for section, key in SECTIONS}


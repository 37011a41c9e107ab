"""`genlab evaluate`: metrics computed from a finished run directory, never from the trainer's internals.

A metric is a registered function ``fn(ctx) -> dict``. ``ctx`` (an ``EvalContext``) gives the run's
config, its trained model, its data splits and the user's options; the function returns a flat dict of
numbers together with the settings they were computed with. Results are merged into ``DIR/evaluation.json``
(one entry per metric, replaced when the metric is computed again) and printed as JSON.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import torch

from . import __version__
from .errors import ConfigError, GenlabError, RunDirError
from .registry import Registry

EVALUATION = "evaluation.json"


class NotApplicable(GenlabError):
    """A metric that does not apply to this run (e.g. NLL for a model without an encoder)."""


@dataclass
class Metric:
    fn: Callable[["EvalContext"], dict]
    description: str


METRICS: Registry = Registry("metric")


def register_metric(name: str, description: str):
    def add(fn):
        METRICS.add(name, Metric(fn, description))
        return fn

    return add


@dataclass
class EvalContext:
    """What a metric may read: the run directory and the user's options (never the trainer)."""

    path: Path
    options: dict[str, Any] = field(default_factory=dict)  # k, split, n, seed, batch_size, device, ...
    _cache: dict = field(default_factory=dict)

    def opt(self, key: str, default=None):
        v = self.options.get(key)
        return default if v is None else v

    @property
    def device(self) -> str:
        return self.opt("device", "cpu")

    @property
    def seed(self) -> int:
        return int(self.opt("seed", 0))

    def generator(self, offset: int = 0) -> torch.Generator:
        """A fresh generator seeded from the evaluation seed (each metric draws from its own)."""
        return torch.Generator(device=self.device).manual_seed(self.seed + offset)

    def _load(self):
        if "model" not in self._cache:
            from .api import load_trained

            run, cfg, model = load_trained(self.path, self.device, self.opt("checkpoint", "latest"))
            self._cache.update(run=run, cfg=cfg, model=model)
        return self._cache

    @property
    def run(self):
        return self._load()["run"]

    @property
    def cfg(self) -> dict:
        return self._load()["cfg"]

    @property
    def model(self):
        return self._load()["model"]

    def data(self, split: Optional[str] = None):
        """The run's dataset (as configured for training, in the model's value range) for `split`."""
        from .config import DataConfig, from_dict
        from .data.base import load_data

        split = split or self.opt("split", "test")
        key = ("data", split)
        if key not in self._cache:
            dcfg = from_dict(DataConfig, {**self.cfg["data"], "subset": 0}, "data")
            self._cache[key] = load_data(dcfg, preferred_range=self.model.info.range, device=self.device,
                                         seed=self.seed, split=split)
        return self._cache[key]


def evaluate(path: str | Path, names: list[str], options: Optional[dict] = None,
             show: Optional[Callable[[dict], None]] = None) -> dict:
    """Compute the named metrics for a run, merge them into its evaluation file and return them.

    `show` is given the results before they are stored, so that a folder that cannot be written (read-only,
    full) loses nothing that was computed."""
    from . import metrics as _metrics  # noqa: F401  (registers every built-in metric)
    from .api import read_run
    from .data.fingerprint import check_data_unchanged
    from .rundir import write_json
    from .runfiles import read_evaluation

    if not names:
        raise ConfigError(f"name at least one metric with --metrics; choose from: {', '.join(METRICS.names())}")
    chosen = [(n, METRICS.get(n)) for n in names]  # unknown names fail before any work
    run, cfg, _ = read_run(path)
    options = dict(options or {})
    check_data_unchanged(cfg.get("data_fingerprint"), cfg["data"], f"cannot evaluate {run.path}",
                         bool(options.pop("allow_data_change", False)))
    file = run.path / EVALUATION
    stored = read_evaluation(file) if file.exists() else {}  # a damaged file is reported before the work
    ctx = EvalContext(Path(path), options)
    results = {}
    for name, metric in chosen:
        out = metric.fn(ctx)
        out.setdefault("settings", {})
        out["settings"].update(genlab_version=__version__, seed=ctx.seed, checkpoint=ctx.opt("checkpoint", "latest"),
                               evaluated=_dt.datetime.now().isoformat(timespec="seconds"))
        results[name] = out
    if show is not None:
        show(results)
    stored = read_evaluation(file) if file.exists() else {}  # again: another evaluation may have stored meanwhile
    stored.update(results)
    try:
        write_json(file, stored)
    except OSError as e:
        raise RunDirError(f"cannot store the results in {file}: {e.strerror or e}"
                          + ("; they are printed above" if show is not None else "")) from None
    return results

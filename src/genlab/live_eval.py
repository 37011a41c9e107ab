"""Evaluation during training (``eval_every``, ``eval_metrics``, ``best`` of ``TrainConfig``).

At every ``eval_every`` steps (``epoch``: at each epoch's end) and at the last step, the trainer calls
``LiveEvaluation.after_step``: the run's state is saved as a checkpoint, and the metrics are computed from
the run directory by ``genlab.evaluate.evaluate``, the code ``genlab evaluate`` runs, on a fresh copy of the
model loaded from that checkpoint (results are stored as by ``genlab evaluate``). The model being trained is
never touched (neither its train/eval mode nor its BatchNorm buffers), and the global random generators
(PyTorch's CPU and CUDA ones, NumPy's, Python's) are restored afterwards: a run with evaluation ends with
bitwise the same weights as the run without (tested).

Each metric's numbers become an eval row of ``metrics.jsonl``::

    {"step": 400, "epoch": 2.0, "time": 31.2, "metric": "fid", "fid": 41.3, ..., "settings": {..., "seconds": 2.1}}

(``seconds``: how long that step's evaluation took, all its metrics together, since they are computed in one
call that shares what they have in common, such as the importance weights of nll and elbo; the run summary
prints evaluation's share of the wall time).
``best=METRIC`` keeps ``checkpoints/best``: the checkpoint of the best evaluation so far, with ``best.json``
(step, metric, value), also in ``status.json`` under "best". A resumed run that went back before its best
evaluation drops that best checkpoint (its step is trained again). Listeners (``listening``: the sweep's
pruner) see every evaluation and may stop the run as Ctrl-C would: a checkpoint is saved, and the status
says why.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import numpy as np
import torch

from .checkpoint import BEST, BEST_INFO, STATE, WEIGHTS
from .config import TrainConfig
from .errors import ConfigError
from .objective import Objective, parse_objective
from .rundir import RunDir, step_dir, write_json
from .runfiles import read_best


@dataclass(frozen=True)
class EvalEvent:
    """One evaluation during training, as listeners see it."""

    run: Path
    step: int
    total: int
    results: dict  # {metric: {number: value}}


Listener = Callable[[EvalEvent], Optional[str]]  # returns why training should stop, or None
_listeners: list[Listener] = []


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Call `listener` after every evaluation during training in this process while the block runs."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def metric_names(cfg: TrainConfig) -> list[str]:
    """The metrics evaluated during training: eval_metrics, and best's metric (first when not listed)."""
    names = [m.strip() for m in cfg.eval_metrics.split(",") if m.strip()]
    if cfg.best.strip():
        metric = parse_objective(cfg.best).metric
        if metric not in names:
            names.insert(0, metric)
    return names


def eval_options(cfg: TrainConfig, device: str) -> dict:
    """The settings of the evaluations during training, as ``genlab evaluate`` takes them."""
    n = cfg.eval_n_samples if cfg.eval_n_samples is not None else cfg.eval_n_data
    return {"split": cfg.eval_split, "seed": cfg.eval_seed, "device": device, "k": cfg.eval_k, "n": n,
            "features": cfg.eval_features, "kid_subsets": cfg.eval_kid_subsets,
            "kid_subset_size": cfg.eval_kid_subset_size, "critic_steps": cfg.eval_critic_steps,
            "diversity": cfg.eval_diversity}


def scalars(result: dict) -> dict[str, float]:
    """A metric result's finite scalar numbers (its settings and lists left out)."""
    return {k: float(v) for k, v in result.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


@contextmanager
def own_random_state() -> Iterator[None]:
    """Run the block and restore every global random generator it may draw from."""
    py, npy = random.getstate(), np.random.get_state()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            random.setstate(py)
            np.random.set_state(npy)


class LiveEvaluation:
    """The trainer's evaluations: when they are due, the eval rows, the best checkpoint and the listeners."""

    def __init__(self, cfg: TrainConfig, model):
        from . import metrics as _metrics  # noqa: F401  (registers the metrics)
        from .evaluate import METRICS

        self.cfg = cfg
        self.names = metric_names(cfg)
        for name in self.names:
            if name not in METRICS:
                raise ConfigError(f"invalid value for 'eval_metrics': unknown metric {name!r}; choose from: "
                                  f"{', '.join(METRICS.names())}")
        if len(set(self.names)) != len(self.names):
            raise ConfigError("invalid value for 'eval_metrics': a metric is named twice")
        self.objective: Optional[Objective] = parse_objective(cfg.best) if cfg.best.strip() else None
        self.options = eval_options(cfg, str(model.device))
        self.best_value: Optional[float] = None
        self.epochs_seen: Optional[int] = None  # epochs completed when last looked (None: not started)

    @classmethod
    def for_config(cls, cfg: TrainConfig, model) -> Optional["LiveEvaluation"]:
        return cls(cfg, model) if (cfg.eval_metrics.strip() or cfg.best.strip()) else None

    # ------------------------------------------------------------------------------------------------
    # the trainer's call

    def after_step(self, trainer) -> None:
        """Evaluate when due: every eval_every steps, at each epoch's end ('epoch'), and at the last step."""
        epochs = trainer.stream.drawn // trainer.stream.batches_per_epoch
        if self.epochs_seen is None:
            self.epochs_seen = epochs
            if trainer.dist.main:
                self.resumed(trainer.run, trainer.step - 1)
        every = self.cfg.eval_every
        due = (trainer.step == trainer.total or (every == "epoch" and epochs > self.epochs_seen)
               or (isinstance(every, int) and every > 0 and trainer.step % every == 0))
        self.epochs_seen = epochs
        if due:
            self.evaluate(trainer)

    def evaluate(self, trainer) -> dict:
        """Save a checkpoint of this step, evaluate it, log the eval rows, keep the best, tell the listeners."""
        from .evaluate import evaluate

        run, step = trainer.run, trainer.step
        trainer.save()
        if not trainer.dist.main:  # rank 0 evaluates (from the run directory) while the others wait for it
            return {}
        results = {}
        with own_random_state():
            started = time.perf_counter()
            raw = evaluate(run.path, self.names, self.options)  # in one call: metrics share what they compute
            seconds = time.perf_counter() - started
        for name in self.names:
            results[name] = scalars(raw[name])
            run.append_metrics({"step": step, "epoch": round(trainer.stream.epoch, 4),
                                "time": round(trainer.elapsed + time.perf_counter() - trainer._t0, 3),
                                "metric": name, **results[name],
                                "settings": {**raw[name].get("settings", {}), "seconds": round(seconds, 3)}})
        if self.objective is not None:
            value = self.objective.value(results)
            if value is None and self.objective.key not in raw[self.objective.metric]:
                raise ConfigError(f"invalid value for 'best': the {self.objective.metric} metric returns no number "
                                  f"{self.objective.key!r}; it returns {', '.join(sorted(results[self.objective.metric]))}")
            if value is not None and self.objective.better(value, self.best_value):  # NaN is never the best
                self.keep_best(run, step, value)
        run.extra_status["evaluation"] = evaluation_time(run.read_metrics())
        event = EvalEvent(run.path, step, trainer.total, results)
        for listener in list(_listeners):
            reason = listener(event)
            if reason and step < trainer.total:
                trainer._stop = reason
        return results

    # ------------------------------------------------------------------------------------------------
    # the best checkpoint

    def keep_best(self, run: RunDir, step: int, value: float) -> None:
        """Make the checkpoint of `step` the run's best: a new folder (hard links to its files, or copies)
        swapped in for the old one by renames."""
        obj = self.objective
        folder = run.checkpoints
        src = step_dir(folder, step)
        tmp = folder / f".tmp-best-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for name in (WEIGHTS, STATE):
            try:
                os.link(src / name, tmp / name)
            except OSError:
                shutil.copy2(src / name, tmp / name)
        info = {"step": step, "metric": obj.metric, "key": obj.key, "direction": obj.direction, "value": value}
        write_json(tmp / BEST_INFO, info)
        old = folder / f".tmp-old-best-{os.getpid()}"
        if (folder / BEST).exists():
            os.replace(folder / BEST, old)
        os.replace(tmp, folder / BEST)
        shutil.rmtree(old, ignore_errors=True)
        self.best_value = value
        run.extra_status["best"] = info

    def resumed(self, run: RunDir, step: int) -> None:
        """When a resume restores its checkpoint (and on the first step of this process): take over the best
        checkpoint of the steps kept (a resumed run that went back before its best evaluation drops it); a
        damaged best.json is refused before the resume changes anything."""
        if self.objective is None or not (run.checkpoints / BEST).exists():
            return
        info = read_best(run.checkpoints / BEST / BEST_INFO)  # damaged: refused (the best weights are kept)
        same = (info.get("metric"), info.get("key")) == (self.objective.metric, self.objective.key)
        if not same or info.get("step", math.inf) > step:
            shutil.rmtree(run.checkpoints / BEST)
            return
        self.best_value = float(info["value"])
        run.extra_status["best"] = info


def eval_rows(rows: list[dict]) -> list[dict]:
    return [r for r in rows if "metric" in r]


def evaluation_time(rows: list[dict]) -> dict:
    """Seconds spent evaluating during training, the run's wall time so far and the share."""
    evals = eval_rows(rows)
    per_step = {r["step"]: r.get("settings", {}).get("seconds", 0.0) for r in evals}  # the same in each row of a step
    seconds = sum(per_step.values())
    total = max([r.get("time", 0.0) for r in rows] or [0.0])  # an eval row's time is taken after it
    steps = len(per_step)
    return {"seconds": round(seconds, 3), "evaluations": steps, "share": round(seconds / total, 4) if total else 0.0}


def summary_line(run: RunDir) -> Optional[str]:
    """'evaluation during training: 12 evaluations, 31.0 s of 240.0 s (13%)', or None without any."""
    rows = run.read_metrics()
    t = evaluation_time(rows)
    if not t["evaluations"]:
        return None
    total = t["seconds"] / t["share"] if t["share"] else 0.0
    line = (f"evaluation during training: {t['evaluations']} evaluation(s), {t['seconds']:.1f} s of {total:.1f} s "
            f"of wall time ({100 * t['share']:.0f}%)")
    best = run.read_status().get("best")
    if best:
        line += f"; best {best['key']} = {best['value']:.4g} at step {best['step']} (checkpoints/{BEST})"
    return line


__all__ = ["LiveEvaluation", "EvalEvent", "listening", "own_random_state", "eval_rows", "evaluation_time",
           "summary_line", "metric_names", "BEST_INFO"]

"""A sweep's trials: one run directory per setting and seed, trained through the reproductions' train-or-reuse
path, then evaluated; in this process or one fresh process per trial (``--jobs``), devices taken in turn.

A trial that finished is re-used and one that stopped early is resumed, so a sweep stopped and started again
trains only what is missing; a trial folder made with other settings is refused. A trial whose loss became
NaN or infinite is a result too (counted as diverged, left out of the means) and is not trained again.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional

from ..errors import ConfigError, NonFiniteLossError


@dataclass(frozen=True)
class Trial:
    """One run of a sweep: a setting of the swept parameters and a seed."""

    model: str
    dataset: str
    setting: dict  # swept key -> value text
    seed: int
    path: str  # its run directory
    overrides: dict  # everything `genlab train` is given (fixed options, the setting, the seed)
    metrics: tuple[str, ...]  # evaluated at the end

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.setting.items()) or "default"


@dataclass
class TrialResult:
    trial: Trial
    what: str  # trained, resumed, re-used, diverged
    results: Optional[dict] = None  # {metric: {number: value}}; None when it diverged
    message: str = ""
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


def numbers(result: dict) -> dict[str, float]:
    """The finite scalar numbers of one metric's result (its settings and lists left out)."""
    return {k: float(v) for k, v in result.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


def evaluate_trial(path: str | Path, metrics: tuple[str, ...], device: str) -> dict:
    """The metrics of a finished run on its final checkpoint: the eval rows the trainer logged at its last
    step (a sweep's trials evaluate ``metrics`` during training), or else ``genlab evaluate`` with the run's
    evaluation settings (eval_k, eval_n_data ... of its config)."""
    from ..api import read_run
    from ..config import TrainConfig, from_dict
    from ..evaluate import evaluate
    from ..live_eval import eval_options, eval_rows

    run, cfg, _ = read_run(path)
    last = run.read_status().get("step")
    logged = {r["metric"]: r for r in eval_rows(run.read_metrics()) if r["step"] == last}
    if all(m in logged for m in metrics):
        return {m: numbers({k: v for k, v in logged[m].items() if k not in ("step", "epoch", "time")})
                for m in metrics}
    out = evaluate(path, list(metrics), eval_options(from_dict(TrainConfig, cfg["train"], "train"), device))
    return {name: numbers(r) for name, r in out.items()}


def run_trial(trial: Trial, device: str = "cpu", threads: int = 0) -> TrialResult:
    """Train (or resume, or re-use) one trial's run directory and evaluate it. `device`: cpu, cuda or cuda:N
    (this process then uses GPU N as its 'cuda'); `threads`: PyTorch's CPU threads (0: leave as is)."""
    import torch

    from ..reproduce import train_or_reuse

    if threads:
        torch.set_num_threads(threads)
    kind, _, index = device.partition(":")
    if index:
        torch.cuda.set_device(int(index))
    started = time.time()
    try:
        what = train_or_reuse("sweep", trial.model, trial.dataset, trial.path, {**trial.overrides, "device": kind},
                              pictures=False, progress=False, quiet=True, keep_failed=True)
    except NonFiniteLossError as e:
        return TrialResult(trial, "diverged", None, str(e), time.time() - started)
    if what == "failed":
        return TrialResult(trial, "diverged", None, f"it diverged earlier; delete {trial.path} to train it again",
                           time.time() - started)
    results = evaluate_trial(trial.path, trial.metrics, kind)
    return TrialResult(trial, what, results, "", time.time() - started)


def _run_in_child(trial: Trial, device: str, threads: int) -> TrialResult:
    return run_trial(trial, device, threads)


def run_trials(trials: list[Trial], devices: list[str], jobs: int) -> Iterator[TrialResult]:
    """Each trial in turn in this process (jobs = 1 on one device), or in one fresh process per trial with at
    most `jobs` at once; trial i runs on devices[i % len(devices)]. Yields results as trials finish; the
    first error other than a diverged loss stops the sweep (the runs already finished are kept)."""
    if jobs < 1:
        raise ConfigError("--jobs must be at least 1")
    if jobs == 1 and len(devices) == 1:
        for trial in trials:
            yield run_trial(trial, devices[0])
        return
    from ..pool import in_processes

    threads = max(1, (os.cpu_count() or 1) // jobs)
    calls = [(_run_in_child, (t, devices[i % len(devices)], threads if devices[i % len(devices)] == "cpu" else 0))
             for i, t in enumerate(trials)]
    yield from in_processes(calls, jobs, "the sweep")


def parse_devices(text: str) -> list[str]:
    """``cpu``, ``cuda``, ``auto`` or ``cuda:0,cuda:1`` -> the devices trials take in turn."""
    devices = [d.strip() for d in text.split(",") if d.strip()]
    for d in devices:
        kind, colon, index = d.partition(":")
        if kind not in ("cpu", "cuda", "auto") or (colon and (kind != "cuda" or not index.isdigit())):
            raise ConfigError(f"--device {text!r}: give cpu, cuda, auto or GPUs as cuda:0,cuda:1")
    if not devices:
        raise ConfigError("--device needs a value: cpu, cuda, auto or cuda:0,cuda:1")
    if any(d.startswith("cuda") for d in devices):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(f"--device {text}: PyTorch sees no CUDA GPU here; use --device cpu")
        missing = [d for d in devices if ":" in d and int(d.split(":")[1]) >= torch.cuda.device_count()]
        if missing:
            raise ConfigError(f"--device {missing[0]}: this machine has {torch.cuda.device_count()} GPU(s)")
    if "auto" in devices:
        import torch

        devices = ["cuda" if (d == "auto" and torch.cuda.is_available()) else ("cpu" if d == "auto" else d)
                   for d in devices]
    return devices


__all__ = ["Trial", "TrialResult", "run_trial", "run_trials", "evaluate_trial", "numbers", "parse_devices"]

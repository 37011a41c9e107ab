"""`genlab sweep MODEL --dataset D --grid KEY=SPEC ... --seeds 0,1 --metric fid --out DIR`.

Grid search (every combination of listed values), random search (``--random N`` settings drawn from lists and
ranges) or Optuna (``--search optuna``, see ``sweep/optuna_search.py``). Training options work as in
``genlab train`` (``--epochs``, ``--steps``, ``--preset``, ``KEY=VALUE``) and apply to every trial; each trial
is a run directory ``DIR/runs/SETTING/seed-S`` made through the reproductions' train-or-reuse path, evaluated
on its final checkpoint with ``--metric`` (and ``--metrics``). Writes DIR/sweep.md and DIR/sweep.csv (one row
per setting, mean +- standard error over seeds), DIR/effects.png and DIR/report.html.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..errors import ConfigError
from ..objective import Objective, parse_objective
from .space import Param, check_space, grid, parse_params, parse_seeds, random_settings, setting_name
from .results import collect, write_results
from .trials import Trial, TrialResult, parse_devices, run_trials

SWEEP = "sweep.json"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="a registered model (see `genlab models`)")
    p.add_argument("--dataset", required=True, help="a registered dataset (see `genlab datasets`)")
    p.add_argument("--out", required=True, help="the sweep's folder: its runs, table, figure and page")
    p.add_argument("--grid", "--param", dest="params", action="append", default=[], metavar="KEY=SPEC",
                   help="a swept config field: values (beta=1,4,10; choice:a,b) or, for --random and "
                        "--search optuna, a range (lr=log:1e-5:1e-3, dropout=float:0:0.5, k=int:1:50); repeat it")
    p.add_argument("--seeds", default="0", help="seeds of every setting, comma-separated (default: 0)")
    p.add_argument("--metric", required=True,
                   help="the objective: a metric (fid, nll, elbo, ...), one of its numbers (recall, bits_per_dim) "
                        "or min:/max:METRIC.NUMBER; evaluated on every trial's final checkpoint")
    p.add_argument("--metrics", default="", help="more metrics to evaluate and tabulate, comma-separated")
    p.add_argument("--search", choices=["grid", "random", "optuna"],
                   help="grid (default), random (--random N), or optuna: TPE with median pruning (pip install "
                        "'genlab[sweep]')")
    p.add_argument("--random", type=int, metavar="N", help="random search: N settings drawn from the parameters")
    p.add_argument("--trials", type=int, metavar="N", help="--search optuna: trials of the study in all")
    p.add_argument("--search-seed", type=int, help="seed of the random draws / Optuna's sampler (default: 0 for "
                                                   "random search, the system's entropy for Optuna)")
    p.add_argument("--eval-every", help="evaluate during training every N steps or every 'epoch' (eval rows, "
                                        "curves; Optuna prunes on them; default: epoch with optuna, else at the end)")
    p.add_argument("--storage", help="--search optuna: where the study lives, shared by its workers: a journal "
                                     "file (default DIR/optuna.journal) or a database URL Optuna accepts "
                                     "(sqlite:///FILE.db, postgresql://...)")
    p.add_argument("--study", help="--search optuna: the study's name in the storage (default: DIR's name)")
    p.add_argument("--heartbeat", type=int, default=60,
                   help="--search optuna: seconds between a worker's heartbeats; a trial silent for twice as long "
                        "is failed and retried (default 60)")
    p.add_argument("--startup-trials", type=int, default=5,
                   help="--search optuna: random trials before TPE models the space and before pruning starts "
                        "(default 5)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--epochs", type=int, help="training length of every trial in epochs")
    g.add_argument("--steps", type=int, help="training length of every trial in steps")
    p.add_argument("--preset", help="a model's named protocol, for every trial")
    p.add_argument("--jobs", type=int, default=1, help="trials trained at once, one process each (default 1); with "
                                                       "optuna, workers of the study")
    p.add_argument("--device", default="cpu",
                   help="cpu (default), cuda, auto, or several GPUs taken in turn: cuda:0,cuda:1")
    p.add_argument("--data-dir", help="look here first for data files (also $GENLAB_DATA)")
    p.add_argument("--dry-run", action="store_true", help="list the trials and stop")


@dataclass
class Sweep:
    """A sweep's definition, checked against the model's configs."""

    model: str
    dataset: str
    params: list[Param]
    types: dict
    seeds: list[int]
    objective: Objective
    metrics: tuple[str, ...]  # evaluated: the objective's metric first
    fixed: dict[str, str]  # training options of every trial
    out: Path
    search: str
    devices: list[str] = field(default_factory=lambda: ["cpu"])
    jobs: int = 1

    def record(self) -> dict:
        return {"model": self.model, "dataset": self.dataset, "search": self.search,
                "params": [p.describe() for p in self.params], "seeds": self.seeds, "metric": self.objective.text(),
                "metrics": list(self.metrics), "fixed": self.fixed}

    def trial(self, setting: dict, seed: int, folder: Optional[str] = None) -> Trial:
        path = self.out / "runs" / (folder or setting_name(setting)) / f"seed-{seed}"
        return Trial(self.model, self.dataset, dict(setting), seed, str(path),
                     {**self.fixed, **setting, "seed": str(seed)}, self.metrics)


def build_sweep(args: argparse.Namespace, extra: list[str]) -> Sweep:
    from .. import metrics as _metrics  # noqa: F401  (registers the metrics)
    from ..config import parse_override_args
    from ..evaluate import METRICS

    fixed = parse_override_args(extra)
    for key in ("epochs", "steps", "preset", "data_dir"):
        value = getattr(args, key)
        if value is not None:
            fixed[key] = str(value)
    if args.steps is not None:
        fixed.setdefault("epochs", "0")
    search = args.search or ("random" if args.random is not None else "grid")
    if args.random is not None and search != "random":
        raise ConfigError("--random N is random search; give --trials N with --search optuna")
    if search == "random" and args.random is None:
        raise ConfigError("random search draws --random N settings: give N")
    if search == "optuna" and args.trials is None:
        raise ConfigError("--search optuna needs --trials N (the study's trials in all)")
    if search != "optuna" and args.trials is not None:
        raise ConfigError("--trials counts Optuna's trials: use it with --search optuna (random search: --random N)")
    objective = parse_objective(args.metric, "--metric")
    metrics = [objective.metric] + [m.strip() for m in args.metrics.split(",") if m.strip() and m.strip() !=
                                    objective.metric]
    for name in metrics:
        METRICS.get(name)
    eval_every = args.eval_every or ("epoch" if search == "optuna" else None)
    if eval_every is not None:
        fixed["eval_every"] = eval_every
    if "eval_metrics" in fixed:
        raise ConfigError("give the evaluated metrics with --metric and --metrics, not eval_metrics=")
    fixed["eval_metrics"] = ",".join(metrics)
    params = parse_params(args.params)
    if not params:
        raise ConfigError("say what to sweep: --grid KEY=V1,V2 (repeat it for more parameters)")
    types = check_space(args.model, args.dataset, params, fixed)
    return Sweep(args.model, args.dataset, params, types, parse_seeds(args.seeds), objective, tuple(metrics), fixed,
                 Path(args.out), search, parse_devices(args.device), args.jobs)


def run(args: argparse.Namespace, extra: list[str]) -> int:
    sweep = build_sweep(args, extra)
    if sweep.search == "optuna":
        from .optuna_search import run_study

        return run_study(sweep, args)
    settings = grid(sweep.params) if sweep.search == "grid" else \
        random_settings(sweep.params, args.random, 0 if args.search_seed is None else args.search_seed)
    trials = [sweep.trial(s, seed) for s in settings for seed in sweep.seeds]
    print(f"[sweep] {len(settings)} setting(s) x {len(sweep.seeds)} seed(s) = {len(trials)} trial(s) of "
          f"{sweep.model} on {sweep.dataset} ({sweep.search} search), in {sweep.out}/runs", flush=True)
    if args.dry_run:
        for t in trials:
            print(f"  {t.path}  {t.label} seed {t.seed}")
        return 0
    sweep.out.mkdir(parents=True, exist_ok=True)
    from ..rundir import write_json

    write_json(sweep.out / SWEEP, sweep.record())
    started = time.time()
    results: list[TrialResult] = []
    for i, r in enumerate(run_trials(trials, sweep.devices, sweep.jobs), 1):
        results.append(r)
        print(f"[sweep] {i}/{len(trials)} {r.trial.label} seed {r.trial.seed}: {describe(r, sweep.objective)}",
              flush=True)
    rows = collect([(r.trial.setting, r.trial.seed, r.results) for r in results], settings)
    write_results(sweep, rows, time.time() - started, args, results)
    return 0


def describe(r: TrialResult, objective: Objective) -> str:
    if r.results is None:
        return f"diverged ({r.message})"
    value = objective.value(r.results)
    shown = "-" if value is None else f"{value:.4g}"
    return f"{r.what} ({r.seconds:.0f} s), {objective.label} {shown}"


__all__ = ["add_arguments", "run", "build_sweep", "Sweep", "write_results"]

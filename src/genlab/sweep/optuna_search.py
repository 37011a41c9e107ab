"""`genlab sweep --search optuna`: Optuna's TPE sampler with median pruning on the eval rows (``genlab[sweep]``).

A trial is one setting suggested by TPE (lists are categorical, ranges are floats, log-floats or integers);
it trains its first seed while the in-training evaluations (``eval_every``, default every epoch) are reported
to Optuna, and stops early when its value is worse than the median of earlier trials at the same step
(``MedianPruner``; the run's status says so). A trial that is not pruned trains its other seeds, and its
value is the mean over seeds. Each trial's run directories are ``DIR/runs/trial-NNNN/seed-S``.

The study lives in Optuna's storage: a journal file (default ``DIR/optuna.journal``) or any database URL
Optuna accepts (``--storage``), under ``--study NAME``. Any number of ``genlab sweep`` workers, on one
machine or on many machines that share the storage, work on one study: Optuna gives every trial to one
worker, and ``--trials N`` counts the study's trials in all. Workers send heartbeats while they train; a
trial whose worker fell silent (killed, out of memory, machine gone) is marked failed by the next worker that
looks, and retried with the same parameters: the retry resumes the dead worker's run directory. A worker
stopped by Ctrl-C queues its trial again in the same way. A worker leaves once every trial is done, waiting
for the other workers' running trials, so the last one standing retries what a dead worker left.
"""

from __future__ import annotations

import math
import os
import socket
import time
from pathlib import Path
from typing import Optional

from ..errors import ConfigError
from ..trainer import Interrupted
from .space import Param

HEARTBEAT = "genlab_heartbeat"  # trial system attribute: the last heartbeat, seconds since the epoch
DEFINITION = "genlab_sweep"  # study user attribute: the sweep's definition, the same for every worker
MAX_RETRY = 3


def require_optuna():
    try:
        import optuna
    except ModuleNotFoundError:
        raise ConfigError("--search optuna needs Optuna, an optional extra: pip install 'genlab[sweep]'") from None
    import warnings

    # heartbeats and retries are marked experimental since Optuna 2.8; genlab relies on them knowingly
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def _retry_callback():
    optuna = require_optuna()
    cls = getattr(optuna.storages, "RetryHeartbeatStaleTrialCallback", None) or optuna.storages.RetryFailedTrialCallback
    return cls(max_retry=MAX_RETRY)


def retried_from(trial) -> Optional[int]:
    """The number of the first trial that this one retries, or None for a new trial: a retry is a copy of
    the failed trial with its parameters and user attributes, among them its run folder."""
    folder = trial.user_attrs.get("folder")
    return int(folder.split("-")[1]) if folder else None


def journal_storage(path: str, heartbeat: int):
    """A journal-file (or Redis) storage that also keeps heartbeats: as trial system attributes, so that any
    worker reading the journal sees when a running trial last gave a sign of life."""
    optuna = require_optuna()
    from optuna.storages import JournalStorage
    from optuna.storages._heartbeat import BaseHeartbeat
    from optuna.storages.journal import JournalFileBackend

    class HeartbeatJournalStorage(JournalStorage, BaseHeartbeat):
        def __init__(self, backend, interval: int, grace: int, callback):
            super().__init__(backend)
            self._interval, self._grace, self._callback = interval, grace, callback

        def record_heartbeat(self, trial_id: int) -> None:
            self.set_trial_system_attr(trial_id, HEARTBEAT, time.time())

        def _get_stale_trial_ids(self, study_id: int) -> list[int]:
            now = time.time()
            stale = []
            for t in self.get_all_trials(study_id, deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
                beat = t.system_attrs.get(HEARTBEAT)
                if beat is None:  # not one heartbeat yet: count from its start
                    beat = t.datetime_start.timestamp() if t.datetime_start else now
                if now - beat > self._grace:
                    stale.append(t._trial_id)
            return stale

        def get_heartbeat_interval(self) -> int:
            return self._interval

        def get_heartbeat_stale_trial_callback(self):
            return self._callback

        def get_failed_trial_callback(self):  # the name before Optuna 4.9
            return self._callback

    if path.startswith("redis://"):
        from optuna.storages.journal import JournalRedisBackend

        backend = JournalRedisBackend(path)
    else:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        backend = JournalFileBackend(path)
    return HeartbeatJournalStorage(backend, heartbeat, 2 * heartbeat, _retry_callback())


def make_storage(spec: str, heartbeat: int):
    """A database URL (sqlite:///, postgresql://, mysql:// ...: Optuna's RDBStorage with heartbeats), a
    redis:// URL or a file path (a journal)."""
    optuna = require_optuna()
    if heartbeat < 1:
        raise ConfigError("--heartbeat must be at least 1 second")
    if "://" in spec and not spec.startswith("redis://"):
        import inspect

        name = ("heartbeat_stale_trial_callback" if "heartbeat_stale_trial_callback" in
                inspect.signature(optuna.storages.RDBStorage.__init__).parameters else "failed_trial_callback")
        try:
            return optuna.storages.RDBStorage(spec, heartbeat_interval=heartbeat, grace_period=2 * heartbeat,
                                              **{name: _retry_callback()})
        except Exception as e:  # SQLAlchemy and driver errors: a bad URL, a missing driver, no server
            raise ConfigError(f"--storage {spec}: Optuna cannot open it ({str(e).splitlines()[0][:200]})") from None
    return journal_storage(spec, heartbeat)


def open_study(sweep, args, seed: Optional[int] = None):
    """The sweep's study (created by the first worker); refuses a study made for another sweep."""
    optuna = require_optuna()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = make_storage(storage_spec(sweep, args), args.heartbeat)
    name = study_name(sweep, args)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=args.startup_trials)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=args.startup_trials, n_warmup_steps=0)
    study = optuna.create_study(storage=storage, study_name=name, sampler=sampler, pruner=pruner,
                                direction="minimize" if sweep.objective.direction == "min" else "maximize",
                                load_if_exists=True)
    mine = definition(sweep)
    stored = study.user_attrs.get(DEFINITION)
    if stored is None:
        study.set_user_attr(DEFINITION, mine)
    elif stored != mine:
        diffs = [f"{k}: {stored.get(k)} (now {mine.get(k)})" for k in mine if stored.get(k) != mine.get(k)]
        raise ConfigError(f"the study {name!r} in {storage_spec(sweep, args)} is another sweep's ({'; '.join(diffs)}); "
                          f"give the same settings, or another --study")
    return study


def definition(sweep) -> dict:
    return {k: v for k, v in sweep.record().items()}


def storage_spec(sweep, args) -> str:
    return args.storage or str(sweep.out / "optuna.journal")


def study_name(sweep, args) -> str:
    return args.study or sweep.out.resolve().name


def suggest(trial, p: Param) -> str:
    """The trial's value of `p`, as the text a run is configured with."""
    if p.kind == "values":
        return trial.suggest_categorical(p.key, list(p.values))
    if p.kind == "int":
        return str(trial.suggest_int(p.key, int(p.low), int(p.high)))
    return repr(trial.suggest_float(p.key, p.low, p.high, log=p.kind == "log"))


def counted(study) -> tuple[int, int, int]:
    """(trials that count towards --trials, of them waiting, running): complete, pruned, diverged, running
    and waiting ones; a trial failed by a dead worker does not count (its retry does)."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    n = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)
            or (t.state == TrialState.FAIL and "outcome" in t.user_attrs) for t in trials)
    return (n, sum(t.state == TrialState.WAITING for t in trials), sum(t.state == TrialState.RUNNING for t in trials))


class Objective:
    """One trial: suggest a setting, train its seeds (the first one pruned on its eval rows), return the mean."""

    def __init__(self, sweep, device: str, say):
        self.sweep, self.device, self.say = sweep, device, say
        self.current: Optional[int] = None  # the trial in progress
        self.pruned_at: Optional[int] = None  # the step at which the pruner stopped it

    def __call__(self, trial) -> float:
        import optuna

        from ..live_eval import listening
        from .trials import run_trial

        sweep = self.sweep
        self.current, self.pruned_at = trial.number, None
        setting = {p.key: suggest(trial, p) for p in sweep.params}
        origin = retried_from(trial)
        folder = f"trial-{trial.number if origin is None else origin:04d}"
        trial.set_user_attr("folder", folder)
        trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
        label = ", ".join(f"{k}={v}" for k, v in setting.items())
        self.say(f"trial {trial.number}{'' if origin is None else f' (retry of trial {origin})'}: {label}")
        per_seed, what = {}, {}
        for i, seed in enumerate(sweep.seeds):
            t = sweep.trial(setting, seed, folder)
            if i == 0:
                pruned = self._report_earlier(trial, t.path)
                if pruned is None:
                    with listening(lambda event: self._report(trial, event.step, event.results)):
                        try:
                            result = run_trial(t, self.device)
                        except Interrupted:
                            if self.pruned_at is None:
                                raise  # Ctrl-C, not the pruner
                            pruned = self.pruned_at
                if pruned is not None:
                    self.say(f"trial {trial.number}: pruned at step {pruned} (worse than the median of earlier "
                             f"trials there)")
                    raise optuna.TrialPruned(f"pruned at step {pruned}")
            else:
                result = run_trial(t, self.device)
            what[str(seed)] = result.what
            trial.set_user_attr("what", what)
            if result.results is None:
                trial.set_user_attr("outcome", "diverged")
                trial.set_user_attr("message", result.message[:300])
                self.say(f"trial {trial.number}: seed {seed} diverged")
                return math.nan  # Optuna records the trial as failed
            per_seed[str(seed)] = result.results
            trial.set_user_attr("results", per_seed)
        values = [sweep.objective.value(r) for r in per_seed.values()]
        if any(v is None for v in values):
            raise ConfigError(f"--metric {sweep.objective.text()}: the {sweep.objective.metric} metric returned no "
                              f"number {sweep.objective.key!r}")
        trial.set_user_attr("outcome", "complete")
        value = sum(values) / len(values)
        self.say(f"trial {trial.number}: {sweep.objective.label} {value:.4g} ({', '.join(what.values())})")
        return value

    def _report(self, trial, step: int, results: dict) -> Optional[str]:
        value = self.sweep.objective.value(results)
        if value is None or not math.isfinite(value):
            return None
        trial.report(value, step)
        if not trial.should_prune():
            return None
        self.pruned_at = step
        return "Optuna's median pruner"

    def _report_earlier(self, trial, path: str) -> Optional[int]:
        """Report the eval rows a run directory holds already (a retried trial's); the step at which they
        prune it, or None."""
        from ..rundir import RunDir

        if not (Path(path) / "metrics.jsonl").is_file():
            return None
        for row in RunDir(path).read_metrics():
            if row.get("metric") == self.sweep.objective.metric:
                if self._report(trial, row["step"], {row["metric"]: row}):
                    return row["step"]
        return None


def work(sweep, args, index: int = 0, device: Optional[str] = None, threads: int = 0) -> None:
    """One worker: take trials (waiting retries first) until the study has its --trials, then wait for the
    other workers' running trials (failing and retrying those whose worker died) before leaving."""
    import torch

    optuna = require_optuna()
    if threads:
        torch.set_num_threads(threads)
    tag = f"[sweep worker {index}]" if sweep.jobs > 1 else "[sweep]"

    def say(text: str) -> None:
        print(f"{tag} {text}", flush=True)

    seed = None if args.search_seed is None else args.search_seed + index
    study = open_study(sweep, args, seed)
    objective = Objective(sweep, device or sweep.devices[0], say)
    while True:
        optuna.storages.fail_stale_trials(study)
        n, waiting, running = counted(study)
        if waiting or n < args.trials:
            try:
                study.optimize(objective, n_trials=1, catch=())
            except (Interrupted, KeyboardInterrupt):
                requeue(study, objective.current)  # its next worker resumes the run
                raise
            continue
        if not running:
            return
        time.sleep(min(args.heartbeat, 10))


def requeue(study, number: Optional[int]) -> None:
    """Queue a copy of trial `number` (stopped by Ctrl-C, so failed) to be retried with its parameters."""
    if number is None:
        return
    from optuna.trial import TrialState

    frozen = next((t for t in study.get_trials(deepcopy=False) if t.number == number), None)
    if frozen is not None and frozen.state == TrialState.FAIL and "outcome" not in frozen.user_attrs:
        _retry_callback()(study, frozen)


def _child(sweep, args, index: int, device: str, threads: int) -> None:
    work(sweep, args, index, device, threads)


def run_study(sweep, args) -> int:
    """Run --jobs workers (this process, or one process each), then write the study's table and figures."""
    require_optuna()
    if args.trials < 1:
        raise ConfigError("--trials must be at least 1")
    if args.startup_trials < 1:
        raise ConfigError("--startup-trials must be at least 1")
    study = open_study(sweep, args)  # checks the storage and the definition before any worker starts
    spec, name = storage_spec(sweep, args), study_name(sweep, args)
    print(f"[sweep] study {name!r} in {spec}: {args.trials} trial(s) in all, {counted(study)[0]} there already; "
          f"another worker joins with the same command", flush=True)
    if args.dry_run:
        return 0
    sweep.out.mkdir(parents=True, exist_ok=True)
    started = time.time()
    if sweep.jobs == 1 and len(sweep.devices) == 1:
        work(sweep, args)
    else:
        import multiprocessing as mp

        ctx = mp.get_context("spawn")
        threads = max(1, (os.cpu_count() or 1) // sweep.jobs)
        procs = [ctx.Process(target=_child, args=(sweep, args, i, sweep.devices[i % len(sweep.devices)],
                                                  threads if sweep.devices[i % len(sweep.devices)] == "cpu" else 0))
                 for i in range(sweep.jobs)]
        for p in procs:
            p.start()
        try:
            for p in procs:
                p.join()
        except KeyboardInterrupt:
            for p in procs:
                p.join()
            raise
        failed = [i for i, p in enumerate(procs) if p.exitcode]
        if failed:
            raise ConfigError(f"sweep worker(s) {failed} stopped with an error (see above); the study keeps what "
                              f"they finished: run the command again to go on")
    write_study(sweep, args, open_study(sweep, args), time.time() - started)
    return 0


def write_study(sweep, args, study, seconds: float) -> None:
    """The sweep's table and figures from every trial of the study (whichever worker ran it)."""
    from optuna.trial import TrialState

    from .results import collect, write_results

    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE and t.user_attrs.get("results")]
    complete.sort(key=lambda t: t.value if sweep.objective.direction == "min" else -t.value)
    rows = []
    for t in complete:
        setting = {"trial": str(t.number), **{k: _text(t.params[k]) for k in (p.key for p in sweep.params)}}
        entries = [(setting, int(s), r) for s, r in t.user_attrs["results"].items()]
        rows += collect(entries, [setting])
    pruned = [t for t in trials if t.state == TrialState.PRUNED]
    diverged = [t for t in trials if t.state == TrialState.FAIL and t.user_attrs.get("outcome") == "diverged"]
    dead = [t for t in trials if t.state == TrialState.FAIL and "outcome" not in t.user_attrs]
    notes = [f"Optuna study {study.study_name!r} in {storage_spec(sweep, args)}: TPE sampler, median pruner on the "
             f"eval rows of each trial's first seed ({args.startup_trials} startup trials); rows sorted best first"]
    if pruned:
        steps = ", ".join(f"{t.number} (step {max(t.intermediate_values) if t.intermediate_values else '-'})"
                          for t in pruned)
        notes.append(f"{len(pruned)} trial(s) pruned: {steps}")
    if diverged:
        notes.append(f"{len(diverged)} trial(s) diverged: {', '.join(str(t.number) for t in diverged)}")
    if dead:
        notes.append(f"{len(dead)} trial(s) failed with their worker (killed or stopped) and were retried: "
                     f"{', '.join(str(t.number) for t in dead)}")
    running = [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    if running:
        notes.append(f"{len(running)} trial(s) still running or waiting in other workers")
    write_results(sweep, rows, seconds, args, notes=notes, leading=("trial",))


def _text(v) -> str:
    """A parameter's value in the table: floats to 4 significant digits (the study keeps them exactly)."""
    return f"{v:.4g}" if isinstance(v, float) else str(v)


__all__ = ["run_study", "work", "open_study", "make_storage", "require_optuna", "counted"]

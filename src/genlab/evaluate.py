"""`genlab evaluate`: metrics computed from a finished run directory, never from the trainer's internals.

``evaluate(DIR, EvalConfig(metrics=(...), ...))`` checks that every chosen metric applies to the run before
computing anything, then, for each metric, re-uses the result stored for exactly these settings, this
checkpoint and this data (``DIR/eval-cache/``, see ``metrics/base.py``) or computes and stores it. The
results are merged into ``DIR/evaluation.json`` (one entry per metric, the latest) and returned; each
carries its settings, among them the checkpoint it was computed on.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Callable, Optional

from . import __version__
from .distributed import SINGLE, Dist
from .errors import ConfigError, RunDirError
from .metrics.base import (EVALUATION, METRICS, EvalConfig, EvalContext, NotApplicable, checkpoint_identity,
                           register_metric)
from .rundir import write_json
from .runfiles import read_evaluation

__all__ = ["evaluate", "current_results", "EvalConfig", "EvalContext", "NotApplicable", "METRICS",
           "register_metric", "EVALUATION"]


def evaluate(path: str | Path, config: EvalConfig | list[str], options: Optional[dict] = None,
             recompute: bool = False, say: Optional[Callable[[str], None]] = None,
             show: Optional[Callable[[dict], None]] = None, allow_data_change: bool = False,
             dist: Dist = SINGLE) -> dict:
    """Compute (or re-use) the metrics of `config` for the run at `path`, merge them into its evaluation
    file and return them: {metric: {value: ..., "settings": {...}}}.

    `config`: an ``EvalConfig``, or (earlier callers) a list of metric names with an options dict.
    `recompute`: compute even where a stored result exists. `say`: told which results were re-used. `show`:
    given the results before they are stored, so that a folder that cannot be written (read-only, full)
    loses nothing that was computed. Refuses a run whose data changed since it was trained, unless
    `allow_data_change`. `dist`: one of several processes (torchrun) that share the costly parts (importance
    samples, generated samples); rank 0 alone shows and stores the results, which equal one process's."""
    from .data.fingerprint import check_data_unchanged

    if not isinstance(config, EvalConfig):
        config = EvalConfig.from_options(config, options)
    if not config.metrics:
        raise ConfigError(f"name at least one metric with --metrics; choose from: {', '.join(METRICS.names())}")
    ctx = EvalContext(Path(path), config, dist=dist)
    cfg = ctx.run_config
    check_data_unchanged(cfg.get("data_fingerprint"), cfg["data"], f"cannot evaluate {ctx.path}", allow_data_change)
    file = ctx.path / EVALUATION
    if file.exists():
        read_evaluation(file)  # a damaged file is reported before the work
    metrics = [METRICS.get(name) for name in config.metrics]
    for metric in metrics:  # every metric applies, or nothing is computed
        metric.check(ctx)
    results, computed = {}, []
    for metric in metrics:
        mctx = ctx.for_metric(metric)
        out = None if recompute else mctx.stored()
        if out is None:
            out = metric.fn(mctx)
            out.setdefault("settings", {})
            out["settings"].update(genlab_version=__version__, seed=ctx.seed, checkpoint=mctx.checkpoint(),
                                   evaluated=_dt.datetime.now().isoformat(timespec="seconds"),
                                   **({"processes": dist.world} if dist.enabled else {}))
            computed.append((mctx, out))
        elif say is not None:
            say(f"{metric.name}: re-used the result stored on {out['settings'].get('evaluated')} for these settings "
                f"and this checkpoint (--recompute computes it again)")
        results[metric.name] = out
    if not dist.main:
        return results
    if show is not None:
        show(results)
    try:
        stored = read_evaluation(file) if file.exists() else {}  # again: another evaluation may have stored meanwhile
        merged = {**stored, **results}
        if merged != stored:
            write_json(file, merged)
        for mctx, out in computed:
            mctx.store(out)
    except OSError as e:
        raise RunDirError(f"cannot store the results in {e.filename or file}: {e.strerror or e}"
                          + ("; they are printed above" if show is not None else "")) from None
    return results


def current_results(path: str | Path) -> tuple[dict, dict]:
    """The run's stored evaluation split into (current, stale): a result is stale when the checkpoint it was
    computed on (the latest, best or step-N) holds other weights now or is gone (the run was resumed, trained
    again, or its best replaced). Results stored without their checkpoint (earlier genlab versions) count
    as current."""
    path = Path(path)
    file = path / EVALUATION
    stored = read_evaluation(file) if file.exists() else {}
    now: dict[str, Optional[dict]] = {}
    current, stale = {}, {}
    for name, result in stored.items():
        made_on = result.get("settings", {}).get("checkpoint")
        if isinstance(made_on, dict):
            which = made_on.get("name", "latest")
            if which not in now:
                try:
                    now[which] = checkpoint_identity(path, which)
                except RunDirError:  # that checkpoint is gone
                    now[which] = None
            fresh = now[which] is not None and all(now[which][k] == made_on[k] for k in ("step", "weights"))
        else:
            fresh = True
        (current if fresh else stale)[name] = result
    return current, stale

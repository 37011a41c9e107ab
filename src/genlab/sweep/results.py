"""A sweep's results: one row per setting with the mean +- standard error over seeds of every evaluated number
(``DIR/sweep.md`` and ``DIR/sweep.csv``), the best setting, and ``DIR/effects.png``: the objective against
each swept parameter, one point per seed and a line through the means.

The standard error of a setting's mean is the sample standard deviation over its seeds divided by
sqrt(seeds); with one seed there is none (shown as a bare number).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..objective import Objective
from .space import Param, numeric_type, typed_value

DROPPED_SUFFIXES = ("_se", "_std", "_real")  # a run's own error bars and floors: not averaged over seeds


@dataclass
class Row:
    """One setting of a sweep and what its seeds gave."""

    setting: dict  # swept key -> value text
    values: dict[str, list[float]] = field(default_factory=dict)  # column -> one value per seed that gave it
    seeds: list[int] = field(default_factory=list)  # seeds with results
    diverged: list[int] = field(default_factory=list)
    note: str = ""  # e.g. pruned at step S

    def mean_se(self, column: str) -> tuple[Optional[float], Optional[float]]:
        return mean_se(self.values.get(column, []))


def mean_se(values: list[float]) -> tuple[Optional[float], Optional[float]]:
    """The mean and its standard error over seeds (None without values; no SE for one value)."""
    import numpy as np

    if not values:
        return None, None
    v = np.asarray(values, dtype=np.float64)
    se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else None
    return float(v.mean()), se


def column_name(metric: str, key: str, keys_seen: dict[str, set]) -> str:
    return key if len(keys_seen.get(key, set())) <= 1 else f"{metric}.{key}"


def collect(entries: list[tuple[dict, int, Optional[dict]]], order: list[dict]) -> list[Row]:
    """Rows from (setting, seed, results or None when diverged), in the order of `order`'s settings."""
    keys_seen: dict[str, set] = {}
    for _, _, results in entries:
        for metric, nums in (results or {}).items():
            for key in nums:
                keys_seen.setdefault(key, set()).add(metric)
    rows = {tuple(s.items()): Row(dict(s)) for s in order}
    for setting, seed, results in entries:
        row = rows.setdefault(tuple(setting.items()), Row(dict(setting)))
        if results is None:
            row.diverged.append(seed)
            continue
        row.seeds.append(seed)
        for metric, nums in results.items():
            for key, v in nums.items():
                if not key.endswith(DROPPED_SUFFIXES):
                    row.values.setdefault(column_name(metric, key, keys_seen), []).append(v)
    return list(rows.values())


def objective_column(objective: Objective, rows: list[Row]) -> str:
    names = {c for r in rows for c in r.values}
    return objective.key if objective.key in names else f"{objective.metric}.{objective.key}"


def best_row(rows: list[Row], objective: Objective) -> Optional[Row]:
    col = objective_column(objective, rows)
    best, best_value = None, None
    for r in rows:
        m, _ = r.mean_se(col)
        if m is not None and objective.better(m, best_value):
            best, best_value = r, m
    return best


def repeated(rows: list[Row], params: list[str], columns: list[str]) -> dict[str, str]:
    """Columns that repeat what the table already shows, with what they repeat: in every row, each seed's value
    equals a swept parameter that takes several values (units_z1 = latent_dim: the latent size, not a result)
    or an earlier column (active_z1 = active_units with one stochastic layer)."""
    def number(text):
        try:
            return float(text)
        except (TypeError, ValueError):
            return None

    out: dict[str, str] = {}
    scored = [r for r in rows if r.seeds]
    varied = [p for p in params if len({r.setting.get(p) for r in scored}) > 1]
    for j, c in enumerate(columns):
        have = [r for r in scored if r.values.get(c)]
        if not have:
            continue
        for p in varied:
            if all(number(r.setting.get(p)) is not None and all(v == number(r.setting[p]) for v in r.values[c])
                   for r in have):
                out[c] = f"the swept {p}"
                break
        else:
            same = next((o for o in columns[:j] if o not in out
                         and all(r.values.get(o) == r.values[c] for r in scored)), None)
            if same:
                out[c] = same
    return out


def table(rows: list[Row], params: list[str], objective: Objective, title: str, intro: str, notes: list[str]):
    """A sweep's rows as one ``compare.Table`` (markdown and CSV): the swept parameters, the seeds with results
    and those that diverged, then each number as mean +- standard error over seeds (the objective first, the
    best setting's in bold; directions and scales from the metric registry); numbers that only repeat a
    parameter or another column are left out with a note."""
    from ..compare import Estimate, Table, reading

    obj = objective_column(objective, rows)
    columns = [obj] + sorted({c for r in rows for c in r.values} - {obj})
    repeats = repeated(rows, params, columns)
    columns = [c for c in columns if c not in repeats]
    t = Table(params + ["seeds", "diverged"] + columns, [], title=title, intro=intro)
    for r in rows:
        cells = [r.setting.get(p, "") for p in params] + [len(r.seeds), len(r.diverged)]
        t.rows.append(cells + [Estimate(*r.mean_se(c), note=r.note if c == obj else "") if r.values.get(c) else None
                               for c in columns])
    for c in columns:
        read = reading(c)
        direction = ("lower" if objective.direction == "min" else "higher") if c == obj else read and read.direction
        if direction in ("lower", "higher"):
            t.directions[c] = direction
        if read and read.scale != 1:
            t.scales[c] = read.scale
    best = best_row(rows, objective)
    if best is not None:
        m, se = best.mean_se(obj)
        label = ", ".join(f"{k}={v}" for k, v in best.setting.items()) or "the default setting"
        t.notes.append(f"best setting ({obj}, {t.directions[obj]} is better): **{label}**, {obj} = "
                       f"{m:.4g}{'' if se is None else f' +- {se:.2g}'} over {len(best.seeds)} seed(s)")
    else:
        t.notes.append(f"no setting has a {obj} yet (every trial diverged, was pruned or has not finished)")
    t.notes += [f"{c}: left out, the same as {what} in every row" for c, what in repeats.items()]
    t.notes += notes
    return t


def effects_figure(rows: list[Row], params: list[Param], types: dict, objective: Objective, path: Path,
                   title: str = "") -> Optional[Path]:
    """The objective against each swept parameter: a point per seed (coloured by the other parameters'
    values when there are few), and a black line through the means at each value (for many distinct values,
    the means of 6 quantile bins)."""
    import numpy as np

    from ..plots import _pyplot, _save

    col = objective_column(objective, rows)
    points = [(r, v) for r in rows for v in r.values.get(col, [])]
    if not points or not params:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(params), figsize=(4.2 * len(params), 3.6), dpi=100, squeeze=False)
    for ax, p in zip(axes[0], params):
        others = [q.key for q in params if q.key != p.key]
        groups = sorted({tuple(r.setting.get(k, "") for k in others) for r, _ in points})
        coloured = 1 < len(groups) <= 8
        numeric = numeric_type(types.get(p.key)) is not None
        xs_text = sorted({r.setting[p.key] for r, _ in points}, key=lambda t: (typed_value(t, types[p.key], p.key)
                                                                              if numeric else str(t)))
        position = (lambda t: float(typed_value(t, types[p.key], p.key))) if numeric else xs_text.index
        rng = np.random.default_rng(0)
        for gi, g in enumerate(groups):
            pts = [(position(r.setting[p.key]), v) for r, v in points
                   if tuple(r.setting.get(k, "") for k in others) == g]
            x = np.array([a for a, _ in pts], dtype=float)
            if not numeric:
                x = x + rng.uniform(-0.08, 0.08, len(x))
            label = ", ".join(f"{k}={v}" for k, v in zip(others, g)) if coloured else None
            ax.scatter(x, [b for _, b in pts], s=18, alpha=0.75, color=f"C{gi}" if coloured else "tab:blue",
                       label=label, zorder=3)
            if coloured:  # this group's means: lines that are not parallel show an interaction
                gx, gy = _mean_line(pts, log=False)
                ax.plot(gx, gy, color=f"C{gi}", lw=0.8, alpha=0.6, zorder=2)
        xm, ym = _mean_line([(position(r.setting[p.key]), v) for r, v in points],
                            log=p.kind == "log" or _spans_decades(p, types))
        ax.plot(xm, ym, color="black", lw=1.5, marker="o", ms=3, zorder=4, label="mean")
        if numeric and (p.kind == "log" or _spans_decades(p, types)):
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(range(len(xs_text)), xs_text)
        ax.set_xlabel(p.key)
        ax.set_ylabel(f"{col} ({'lower' if objective.direction == 'min' else 'higher'} is better)")
        ax.grid(alpha=0.3)
        if coloured:
            ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def _spans_decades(p: Param, types: dict) -> bool:
    """Whether the listed values are positive numbers spanning more than a factor of 20 (drawn on a log axis)."""
    if p.kind != "values" or numeric_type(types.get(p.key)) is None:
        return False
    v = [float(typed_value(t, types[p.key], p.key)) for t in p.values]
    return min(v) > 0 and max(v) / min(v) > 20


def _mean_line(pts: list[tuple[float, float]], log: bool) -> tuple[list[float], list[float]]:
    import numpy as np

    xs = sorted({x for x, _ in pts})
    if len(xs) <= 12:
        return xs, [float(np.mean([v for x, v in pts if x == u])) for u in xs]
    x = np.array([a for a, _ in pts])
    y = np.array([b for _, b in pts])
    t = np.log(x) if log else x
    edges = np.quantile(t, np.linspace(0, 1, 7))
    which = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, 5)
    centres, means = [], []
    for b in range(6):
        if (which == b).any():
            c = t[which == b].mean()
            centres.append(float(np.exp(c) if log else c))
            means.append(float(y[which == b].mean()))
    return centres, means


def write_results(sweep, rows: list, seconds: float, args, results=(), notes: Optional[list[str]] = None,
                  leading: tuple[str, ...] = ()) -> Path:
    """sweep.md, sweep.csv, effects.png and report.html of a sweep's rows (`sweep`: a ``command.Sweep``;
    `leading`: columns before the parameters, such as Optuna's trial numbers)."""
    from ..compare import write_outputs
    from ..report.study import write_study_report

    counts: dict[str, int] = {}
    for r in results:
        counts[r.what] = counts.get(r.what, 0) + 1
    fixed = ", ".join(f"{k}={v}" for k, v in sweep.fixed.items() if k != "eval_metrics") or "the model's defaults"
    intro = (f"{sweep.search.capitalize()} search over {', '.join(p.describe() for p in sweep.params)}, seeds "
             f"{', '.join(map(str, sweep.seeds))}. Every trial is `genlab train {sweep.model} --dataset {sweep.dataset}` "
             f"with {fixed}, evaluated on its final checkpoint ({', '.join(sweep.metrics)}). Each cell is the mean +- "
             f"standard error over seeds (sample std / sqrt(seeds); one seed: no error).")
    notes = list(notes or [])
    if counts:
        notes.append("trials this time: " + ", ".join(f"{n} {w}" for w, n in sorted(counts.items())))
    notes.append(f"wall time: {seconds / 60:.1f} min with --jobs {sweep.jobs} on {', '.join(sweep.devices)}")
    result = table(rows, list(leading) + [p.key for p in sweep.params], sweep.objective,
                   f"Sweep: {sweep.model} on {sweep.dataset}", intro, notes)
    md, md_path, csv_path = result.markdown(), sweep.out / "sweep.md", sweep.out / "sweep.csv"
    if result.rows:
        write_outputs(result, str(sweep.out / "sweep"))
    else:
        from ..rundir import atomic_path

        with atomic_path(md_path) as tmp:
            tmp.write_text(md)
    figure = effects_figure(rows, sweep.params, sweep.types, sweep.objective, sweep.out / "effects.png",
                            title=f"{sweep.model} on {sweep.dataset}")
    print(md)
    written = [md_path] + ([csv_path] if result.rows else []) + ([figure] if figure else [])
    about = "the objective against each swept parameter: a point per seed, the line through the means"
    page = write_study_report(sweep.out, md, [(figure, about)] if figure else [], args)
    print(f"wrote {', '.join(map(str, written))} and {page}")
    return md_path


__all__ = ["Row", "collect", "table", "best_row", "effects_figure", "mean_se", "write_results"]

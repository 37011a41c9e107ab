"""`genlab compare DIR1 DIR2 ...`: one table of every evaluated metric across runs.

Reads each run's ``config.json`` and ``evaluation.json`` (never the trainer's internals), leaving out (with a
note) results computed on another checkpoint than the run's latest. One row per run;
first the run settings that differ between the runs (model, dataset, training length ...), then one
column per metric value. Two numbers share a column only when they were computed with the same
*comparability settings* (feature extractor and its identity, sample counts, reference split, the
metric's own parameters): where runs differ, the column is split into one column per setting, its header
tagged ``[a]``, ``[b]`` ..., and the notes under the table say what each tag means (evaluation seeds do
not split a column; a note says when they differ). Printed as markdown,
and written as ``PREFIX.md`` and ``PREFIX.csv`` with ``--out PREFIX``.

How to read a number comes from the metric registry (``metrics.base.Value``): the metrics are ordered by kind
(likelihood, sample quality, coverage, reconstruction, codes), each header says which way is better and the
scale it is shown at (``kid ×1000 ↓``), the best of a column is bold, a number with a standard error is one
``m +- se`` cell, and a real-vs-real floor (``fid_real``) that is the same for every run is printed once, in a
last row. ``--metrics`` chooses the columns. The CSV keeps every column and the raw numbers.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from .errors import ConfigError
from .rundir import RunDir, atomic_path

if TYPE_CHECKING:  # the registry imports torch: only the functions that read runs' metrics load it
    from .metrics.base import Value

# settings that never split a column: when, by which version and on which checkpoint a number was computed,
# and the evaluation seed (another seed is another draw of the same protocol; the notes say when seeds differ)
INCIDENTAL = {"evaluated", "genlab_version", "seed", "checkpoint"}
# run settings shown when they differ between runs
RUN_FIELDS = {
    "model": lambda c: c.get("model"),
    "dataset": lambda c: c.get("data", {}).get("dataset"),
    "preset": lambda c: c.get("preset"),
    "seed": lambda c: c.get("seed"),
    "epochs": lambda c: c.get("train", {}).get("epochs"),
    "steps": lambda c: c.get("train", {}).get("steps"),
    "batch_size": lambda c: c.get("train", {}).get("batch_size"),
    "binarize": lambda c: c.get("data", {}).get("binarize"),
    "subset": lambda c: c.get("data", {}).get("subset"),
    "genlab_version": lambda c: c.get("genlab_version"),
}


@dataclass(frozen=True)
class Estimate:
    """A number with its standard error: ``m +- se`` in markdown, two columns (NAME, NAME_se) in CSV.
    `note`: said after it in markdown only (e.g. "1 of 3 seeds diverged")."""

    value: float
    se: Optional[float] = None
    note: str = ""


@dataclass
class Table:
    """A table of numbers written two ways from one object: markdown for people (a document with a title, an
    introduction, the table, notes and sections) and CSV for programs (the header and the rows only).

    Cells are numbers, text, None (empty) or ``Estimate``; floats keep their full precision in CSV unless
    ``digits`` rounds them, and are shown with the column's format in markdown (``formats``, default .4g)."""

    header: list[str]  # column names (the CSV header; the markdown header unless `labels` names a column)
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)  # bullet lines under the markdown table
    title: str = ""  # the markdown document's heading
    intro: str = ""  # a paragraph before the table
    labels: dict[str, str] = field(default_factory=dict)  # markdown header of a column
    formats: dict[str, str] = field(default_factory=dict)  # markdown number format of a column, e.g. ".2f"
    sections: list[tuple[str, str]] = field(default_factory=list)  # (heading, markdown body) after the notes
    digits: Optional[int] = None  # CSV: floats rounded to this many decimal places
    # markdown only (the CSV keeps the raw numbers):
    directions: dict[str, str] = field(default_factory=dict)  # column -> "lower" or "higher" is better: an arrow
    # in its header, and its best value in bold where at least two rows differ
    scales: dict[str, float] = field(default_factory=dict)  # column -> shown multiplied by this (header: "×1000")
    floors: dict[str, str] = field(default_factory=dict)  # column -> the column it is the floor of:
    # when it holds one value for every row, printed once in a last row under that column instead of as a column
    floor_label: str = "floor"  # the first cell of that last row
    floor_note: str = ""  # what the floor row is, said in the notes when it is printed
    parts: list[tuple[str, list[str]]] = field(default_factory=list)  # (heading, columns): one markdown table per
    # part, each led by the columns that no part names (e.g. the rows' names); none: one table of every column

    def shown(self) -> "Shown":
        """What the markdown shows: the columns, their headers, the scaled cells, the best cells, the floor row."""
        constant = {h for h in self.floors if h in self.header and len(self._column_values(h)) == 1
                    and self.floors[h] in self.header}
        columns = [h for h in self.header if h not in constant]
        scales = {h: self._scale(h) for h in self.header}
        rows = [[_scaled(v, scales[h]) for h, v in zip(self.header, row) if h not in constant] for row in self.rows]
        labels = []
        for h in columns:
            scale = scales[h]
            labels.append(" ".join([self.labels.get(h, h)] + ([f"×{scale:g}"] if scale != 1 else [])
                                   + ([ARROWS[self.directions[h]]] if h in self.directions else [])))
        best = [_best([row[j] for row in rows], self.directions.get(h)) for j, h in enumerate(columns)]
        floor = None
        if constant:
            floor = [None] * len(columns)
            for h in constant:
                floor[columns.index(self.floors[h])] = _scaled(self._column_values(h)[0], scales[self.floors[h]])
        notes = list(self.notes)
        if floor is not None and self.floor_note:
            notes.append(f"{self.floor_label}: {self.floor_note}")
        if self.directions:
            notes.append("↓ lower is better, ↑ higher is better; the best value of a column is in bold")
        scaled = [self.labels.get(h, h) for h in columns if scales[h] != 1]
        if scaled:
            notes.append(f"{', '.join(scaled)}: shown multiplied by the factor in the header (the CSV holds the raw "
                         f"numbers)")
        return Shown(columns, labels, rows, best, floor, notes)

    def _scale(self, h: str) -> float:
        """The factor a column is shown at: its declared scale (KID x1000, for the small numbers of Inception
        features) unless it would print a number of five digits or more before the point (KID in the domain
        classifier's features can pass 100: x1000 would print six digits), then 1."""
        scale = self.scales.get(h, 1)
        shared = [h] + [f for f, of in self.floors.items() if of == h and f in self.header]  # its floor row too
        values = [abs(x) for c in shared for x in map(number, self._column_values(c)) if x is not None]
        return scale if scale == 1 or (values and max(values) * scale < 1e4) else 1

    def _column_values(self, h: str) -> list:
        """The distinct values a column holds (None left out)."""
        j = self.header.index(h)
        return list({json.dumps(row[j], default=repr): row[j] for row in self.rows if row[j] is not None}.values())

    def markdown(self) -> str:
        view = self.shown()
        lines = [f"# {self.title}", ""] if self.title else []
        if self.intro:
            lines += [self.intro, ""]
        named = {c for _, cols in self.parts for c in cols}
        parts = [(heading, [j for j, c in enumerate(view.columns) if c in cols or c not in named])
                 for heading, cols in self.parts] or [("", list(range(len(view.columns))))]
        for k, (heading, shown) in enumerate(parts):
            lines += ([""] if k else []) + ([f"## {heading}", ""] if heading else [])
            lines += self._table_lines(view, shown)
        if view.notes:
            lines += [""] + [f"- {n}" for n in view.notes]
        for heading, body in self.sections:
            lines += ["", f"## {heading}", "", body.rstrip("\n")]
        return "\n".join(lines) + "\n"

    def _table_lines(self, view: "Shown", shown: list[int]) -> list[str]:
        """The markdown table of `view`'s columns `shown` (indices), with the floor row when there is one."""
        def text(j: int, v: Any) -> str:
            return _fmt(v, self.formats.get(view.columns[j], ".4g"))

        lines = ["| " + " | ".join(view.labels[j] for j in shown) + " |", "|" + "---|" * len(shown)]
        for i, row in enumerate(view.rows):
            lines.append("| " + " | ".join(f"**{text(j, row[j])}**" if i in view.best[j] else text(j, row[j])
                                           for j in shown) + " |")
        if view.floor is not None:
            cells = ["" if view.floor[j] is None else text(j, view.floor[j]) for j in shown]
            lines.append("| " + " | ".join([f"*{self.floor_label}*", *cells[1:]]) + " |")
        return lines

    def csv(self) -> str:
        estimates = {j for row in self.rows for j, v in enumerate(row) if isinstance(v, Estimate)}
        header = [c for j, h in enumerate(self.header) for c in ([h, f"{h}_se"] if j in estimates else [h])]
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        for row in self.rows:
            cells = []
            for j, v in enumerate(row):
                if j in estimates:
                    cells += [self._csv_value(v.value), self._csv_value(v.se)] if isinstance(v, Estimate) \
                        else [self._csv_value(v), ""]
                else:
                    cells.append(self._csv_value(v))
            w.writerow(cells)
        return buf.getvalue()

    def _csv_value(self, v: Any) -> Any:
        if v is None:
            return ""
        if isinstance(v, float) and self.digits is not None:
            return round(v, self.digits)
        return v

    @classmethod
    def from_records(cls, records: list[dict], fields: Optional[list[str]] = None, **kwargs) -> "Table":
        """A table with one row per dict; columns `fields`, or the first record's keys."""
        header = list(fields or records[0])
        return cls(header, [[r.get(h) for h in header] for r in records], **kwargs)


ARROWS = {"lower": "↓", "higher": "↑"}


@dataclass
class Shown:
    """A table as people read it (markdown, the comparison page): the shown columns and their headers, the rows'
    cells (scaled), which rows hold each column's best value, the floor row (None: no floor row) and the notes
    (the table's, then what the floor row, the arrows and the scales mean)."""

    columns: list[str]
    labels: list[str]
    rows: list[list[Any]]
    best: list[set[int]]
    floor: Optional[list[Any]]
    notes: list[str]


def number(v: Any) -> Optional[float]:
    """The number a cell holds (an Estimate's value), or None."""
    v = v.value if isinstance(v, Estimate) else v
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
        return float(v)
    return None


def _scaled(v: Any, scale: float) -> Any:
    if scale == 1 or v is None:
        return v
    if isinstance(v, Estimate):
        return Estimate(v.value * scale, None if v.se is None else v.se * scale, v.note)
    return v * scale if number(v) is not None else v


def _best(values: list, direction: Optional[str]) -> set[int]:
    """The rows holding the best of `values` when the column has a direction and at least two numbers that differ."""
    numbers = {i: x for i, x in enumerate(map(number, values)) if x is not None}
    if direction not in ARROWS or len(set(numbers.values())) < 2:
        return set()
    best = (min if direction == "lower" else max)(numbers.values())
    return {i for i, x in numbers.items() if x == best}


def _fmt(v: Any, spec: str = ".4g") -> str:
    if v is None:
        return "-"
    if isinstance(v, Estimate):
        text = _float(v.value, spec) if v.se is None else with_error(v.value, v.se, spec)
        return f"{text} ({v.note})" if v.note else text
    if isinstance(v, float):
        return _float(v, spec)
    return str(v)


def with_error(value: float, se: float, spec: str = ".4g") -> str:
    """`value +- se` with as many digits as the error supports (by default), by the Particle Data Group's rule:
    the error's three leading digits 100-354 give it two significant digits, 355-949 one, 950-999 are rounded
    up to two (0.0966 -> 0.10); the value is rounded to the same decimal place (128.62 +- 1.641: 128.6 +- 1.6;
    15.67 +- 0.3333: 15.7 +- 0.3). A format `spec` other than the default is used for both as it is."""
    if spec != ".4g" or not (math.isfinite(value) and math.isfinite(se)) or se <= 0:
        return f"{_float(value, spec)} +- {_float(se, spec)}"
    mantissa, exponent = f"{se:.2e}".split("e")
    leading, exponent = round(float(mantissa) * 100), int(exponent)  # 966, -2 for 0.0966
    digits = 2 if leading < 355 else 1
    if leading >= 950:
        digits, exponent, se = 2, exponent + 1, 10.0 ** (exponent + 1)
    places = digits - 1 - exponent  # decimal places of both (negative: rounded to tens, hundreds ...)
    shown = max(places, 0)
    return f"{round(value, places):.{shown}f} +- {round(se, places):.{shown}f}"


def _float(v: float, spec: str) -> str:
    """`v` in format `spec`; by default 4 significant digits, and whole numbers from 10,000 to a billion (289996,
    not 2.9e+05)."""
    if spec == ".4g" and 1e4 <= abs(v) < 1e9:
        return f"{v:.0f}"
    return f"{v:{spec}}"


def load_runs(paths: list[str | Path]) -> list[dict]:
    """Each run's name, config and current evaluation results (those computed on its latest checkpoint; the
    others are listed under "stale"); a clear error for a run never evaluated."""
    if len(paths) < 1:
        raise ConfigError("name at least one run directory to compare")
    seen: dict[Path, str] = {}
    for p in paths:
        real = Path(p).resolve()
        if real in seen:
            raise ConfigError(f"{seen[real]} and {p} are the same run directory; name each run once")
        seen[real] = str(p)
    from .evaluate import EVALUATION, current_results

    runs = []
    for p in paths:
        run = RunDir.open(p)
        file = run.path / EVALUATION
        if not file.exists():
            raise ConfigError(f"{run.path} has not been evaluated yet (no {EVALUATION}); run "
                              f"`genlab evaluate {run.path} --metrics ...` first")
        current, stale = current_results(run.path)
        runs.append({"name": str(p), "config": run.read_config(), "evaluation": current, "stale": stale})
    return runs


def _comparability(settings: dict) -> str:
    return json.dumps({k: v for k, v in sorted(settings.items()) if k not in INCIDENTAL}, sort_keys=True)


def reading(column: str) -> Optional[Value]:
    """How a metric's number reads, named by its key (``fid``) or as ``metric.key`` (``prdc.recall``), from the
    metric registry; None when no registered metric, or more than one, declares it."""
    from .metrics.base import METRICS

    metric, _, key = column.rpartition(".")
    found = [m.value(key) for name, m in METRICS.items() if metric in ("", name) and m.value(key)]
    return found[0] if len(found) == 1 else None


FLOOR = "real vs real"
FLOOR_NOTE = ("each metric computed between two sets of real examples (the other split against the reference one), "
              "the same for every run: what a model that matched the data would score")


@dataclass
class _Column:
    """One column of numbers: `key` of `metric`'s results in the runs `members` (one settings group)."""

    metric: str
    key: str
    tag: str  # the settings group's tag ("" when every run shares the settings)
    members: list[int]
    read: Optional[Value]  # how the metric's registration says to read the number
    se: str = ""  # the key of its standard error, when the results hold one

    @property
    def name(self) -> str:
        return f"{self.key}{self.tag}"


def _metric_order(names: set[str]) -> list[str]:
    """Metrics in the order tables show them: by kind (likelihood, sample quality, coverage ...), each kind in
    the registry's order; metrics no longer registered last."""
    from .metrics.base import KINDS, METRICS

    registered = [m for m in METRICS.registered() if m in names]
    by_kind = sorted(registered, key=lambda m: KINDS.index(METRICS.get(m).kind))
    return by_kind + sorted(names - set(registered))


def compare(runs: list[dict], metrics: Optional[list[str]] = None) -> Table:
    """The table of `runs` (from `load_runs`); `metrics`: the metrics (fid) or numbers (precision) to show, in
    this order (default: every one, ordered by kind)."""
    from .metrics.base import METRICS

    run_cols = [k for k, get in RUN_FIELDS.items() if len({json.dumps(get(r["config"])) for r in runs}) > 1]
    header = ["run", *run_cols]
    cells: list[list[Any]] = [[r["name"], *[RUN_FIELDS[k](r["config"]) for k in run_cols]] for r in runs]
    table = Table(header, cells, floor_label=FLOOR, floor_note=FLOOR_NOTE)
    columns: list[_Column] = []
    group_notes: dict[str, list[str]] = {}
    for metric in _metric_order({m for r in runs for m in r["evaluation"]}):
        declared = METRICS.get(metric) if metric in METRICS else None
        groups: dict[str, list[int]] = {}  # comparability settings -> runs computed with them
        for i, r in enumerate(runs):
            if metric in r["evaluation"]:
                groups.setdefault(_comparability(r["evaluation"][metric].get("settings", {})), []).append(i)
        keys = list(dict.fromkeys(k for r in runs for k, v in r["evaluation"].get(metric, {}).items()
                                  if k != "settings" and isinstance(v, (int, float)) and not isinstance(v, bool)))
        read = {k: declared.value(k) if declared else None for k in keys}
        se = {k: read[k].se for k in keys if read[k] and read[k].se in keys}  # shown with the number: m +- se
        tags = [""] if len(groups) == 1 else [f" [{chr(ord('a') + j)}]" for j in range(len(groups))]
        for tag, members in zip(tags, groups.values()):
            columns += [_Column(metric, k, tag, members, read[k], se.get(k, ""))
                        for k in keys if k not in se.values()]
        notes = group_notes.setdefault(metric, [])
        if len(groups) > 1:
            notes.append(_split_note(metric, tags, list(groups), runs, list(groups.values())))
        else:
            notes.append(f"{metric}: {_describe(json.loads(next(iter(groups))))}")
        seeds = {r["name"]: r["evaluation"][metric].get("settings", {}).get("seed") for r in runs
                 if metric in r["evaluation"]}
        if len(set(seeds.values())) > 1:
            notes.append(f"{metric}: evaluated with different seeds: "
                         + ", ".join(f"{name} seed={seed}" for name, seed in seeds.items()))
    if metrics is not None:
        columns = _choose(columns, metrics)
    names = {c.name for c in columns}
    for c in columns:
        table.header.append(c.name)
        for i, row in enumerate(cells):
            result = runs[i]["evaluation"][c.metric] if i in c.members else {}
            value = result.get(c.key)
            row.append(Estimate(value, result.get(c.se)) if c.se and value is not None else value)
        if c.read and c.read.direction in ARROWS:
            table.directions[c.name] = c.read.direction
        if c.read and c.read.scale != 1:
            table.scales[c.name] = c.read.scale
        floor_of = f"{c.key.removesuffix('_real')}{c.tag}"
        if c.key.endswith("_real") and floor_of in names:
            table.floors[c.name] = floor_of
    for metric in dict.fromkeys(c.metric for c in columns):
        table.notes += group_notes[metric]
    for r in runs:
        for metric, result in r.get("stale", {}).items():
            made_on = result["settings"]["checkpoint"]
            table.notes.append(f"{r['name']}: {metric} left out: it was computed on the {made_on.get('name', 'latest')} "
                               f"checkpoint at step {made_on['step']}, which holds other weights now or is gone (resumed, "
                               f"trained again or a new best); evaluate it again")
    return table


def _choose(columns: list[_Column], names: list[str]) -> list[_Column]:
    """The columns of the metrics or numbers `names`, in that order; a number brings its floor along."""
    chosen: list[_Column] = []
    for name in names:
        found = [c for c in columns if c.metric == name or c.key in (name, f"{name}_real")]
        if not found:
            have = {}
            for c in columns:
                if not c.key.endswith("_real"):
                    have.setdefault(c.metric, {})[c.key] = None
            raise ConfigError(f"invalid value for --metrics: these runs have no metric or number {name!r}; choose "
                              f"from: " + "; ".join(f"{m} ({', '.join(ks)})" for m, ks in have.items()))
        chosen += [c for c in found if c not in chosen]
    return chosen


def _describe(settings: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items()) or "no settings stored"


def _split_note(metric: str, tags: list[str], groups: list[str], runs: list[dict], members: list[list[int]]) -> str:
    """Which settings differ between the groups of a split column, and which runs are in each."""
    decoded = [json.loads(g) for g in groups]
    differing = sorted({k for d in decoded for k in d if len({json.dumps(x.get(k)) for x in decoded}) > 1})
    parts = [f"{tag.strip()} ({', '.join(runs[i]['name'] for i in idx)}): "
             + ", ".join(f"{k}={d.get(k)}" for k in differing) for tag, d, idx in zip(tags, decoded, members)]
    return (f"{metric}: NOT COMPARABLE across all runs, so split into separate columns; the settings that "
            f"differ: " + "; ".join(parts))


def write_outputs(table: Table, prefix: Optional[str]) -> list[Path]:
    if not prefix:
        return []
    written = []
    for suffix, text in ((".md", table.markdown()), (".csv", table.csv())):
        path = Path(f"{prefix}{suffix}")
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_text(text)
        written.append(path)
    return written

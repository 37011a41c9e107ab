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
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .errors import ConfigError
from .evaluate import EVALUATION, current_results
from .rundir import RunDir, atomic_path

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

    def markdown(self) -> str:
        lines = [f"# {self.title}", ""] if self.title else []
        if self.intro:
            lines += [self.intro, ""]
        lines += ["| " + " | ".join(self.labels.get(h, h) for h in self.header) + " |", "|" + "---|" * len(self.header)]
        lines += ["| " + " | ".join(_fmt(v, self.formats.get(h, ".4g")) for h, v in zip(self.header, row)) + " |"
                  for row in self.rows]
        if self.notes:
            lines += [""] + [f"- {n}" for n in self.notes]
        for heading, body in self.sections:
            lines += ["", f"## {heading}", "", body.rstrip("\n")]
        return "\n".join(lines) + "\n"

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


def _fmt(v: Any, spec: str = ".4g") -> str:
    if v is None:
        return "-"
    if isinstance(v, Estimate):
        text = f"{v.value:{spec}}" if v.se is None else f"{v.value:{spec}} +- {v.se:{spec}}"
        return f"{text} ({v.note})" if v.note else text
    if isinstance(v, float):
        return f"{v:{spec}}"
    return str(v)


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


def compare(runs: list[dict]) -> Table:
    """The table of `runs` (from `load_runs`)."""
    run_cols = [k for k, get in RUN_FIELDS.items() if len({json.dumps(get(r["config"])) for r in runs}) > 1]
    header = ["run", *run_cols]
    cells: list[list[Any]] = [[r["name"], *[RUN_FIELDS[k](r["config"]) for k in run_cols]] for r in runs]
    notes: list[str] = []
    metrics = sorted({m for r in runs for m in r["evaluation"]})
    for metric in metrics:
        groups: dict[str, list[int]] = {}  # comparability settings -> runs computed with them
        for i, r in enumerate(runs):
            if metric in r["evaluation"]:
                groups.setdefault(_comparability(r["evaluation"][metric].get("settings", {})), []).append(i)
        keys = list(dict.fromkeys(k for r in runs for k, v in r["evaluation"].get(metric, {}).items()
                                  if k != "settings" and isinstance(v, (int, float)) and not isinstance(v, bool)))
        tags = [""] if len(groups) == 1 else [f" [{chr(ord('a') + j)}]" for j in range(len(groups))]
        for tag, (setting, members) in zip(tags, groups.items()):
            for key in keys:
                header.append(f"{key}{tag}")
                for i, row in enumerate(cells):
                    row.append(runs[i]["evaluation"][metric].get(key) if i in members else None)
        if len(groups) > 1:
            notes.append(_split_note(metric, tags, list(groups), runs, list(groups.values())))
        else:
            notes.append(f"{metric}: {_describe(json.loads(next(iter(groups))))}")
        seeds = {r["name"]: r["evaluation"][metric].get("settings", {}).get("seed") for r in runs
                 if metric in r["evaluation"]}
        if len(set(seeds.values())) > 1:
            notes.append(f"{metric}: evaluated with different seeds: "
                         + ", ".join(f"{name} seed={seed}" for name, seed in seeds.items()))
    for r in runs:
        for metric, result in r.get("stale", {}).items():
            made_on = result["settings"]["checkpoint"]
            notes.append(f"{r['name']}: {metric} left out: it was computed on the {made_on.get('name', 'latest')} "
                         f"checkpoint at step {made_on['step']}, which holds other weights now or is gone (resumed, "
                         f"trained again or a new best); evaluate it again")
    return Table(header, cells, notes)


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

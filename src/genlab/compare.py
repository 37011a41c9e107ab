"""`genlab compare DIR1 DIR2 ...`: one table of every evaluated metric across runs.

Reads each run's ``config.json`` and ``evaluation.json`` (never the trainer's internals). One row per run;
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
from .evaluate import EVALUATION
from .rundir import RunDir, atomic_path
from .runfiles import read_evaluation

# settings that never split a column: when and by which version a number was computed, and the
# evaluation seed (another seed is another draw of the same protocol; the notes say when seeds differ)
INCIDENTAL = {"evaluated", "genlab_version", "seed"}
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


@dataclass
class Table:
    header: list[str]
    rows: list[list[Any]]
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = ["| " + " | ".join(self.header) + " |", "|" + "---|" * len(self.header)]
        lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in self.rows]
        if self.notes:
            lines += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.header)
        w.writerows([["" if v is None else v for v in row] for row in self.rows])
        return buf.getvalue()


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def load_runs(paths: list[str | Path]) -> list[dict]:
    """Each run's name, config and evaluation results; a clear error for a run never evaluated."""
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
        runs.append({"name": str(p), "config": run.read_config(), "evaluation": read_evaluation(file)})
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

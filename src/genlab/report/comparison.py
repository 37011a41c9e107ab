"""The comparison page: several runs side by side.

One sortable table of every metric (settings that differ between the runs flagged, columns split where
settings make numbers incomparable, as in `genlab compare`), the runs' sample grids at the same epoch with
one slider, and their curves overlaid. This module reads evaluations through ``genlab.compare``; the trainer's
page hook never imports it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from ..errors import ConfigError
from .html import Cell, document, esc, fmt, nav, section, table, write_page
from .read import RunView, read_run
from .runpage import REPORT
from .widgets import badge, chart, curve_spec, epoch_labels, epoch_panel, frames

ARROW_TITLES = {"↓": "lower", "↑": "higher"}
# training settings that do not change what a run learns: never flagged as a difference
NOT_SETTINGS = {"log_every", "ckpt_every", "keep_checkpoints", "data_dir", "download", "device", "sample_every",
                "grid_size"}


def differing_settings(views: list[RunView]) -> list[tuple[str, list]]:
    """(setting, each run's value) for every setting that differs between the runs that have it. A model
    field only some models have is shown when at least two runs have it (a VAE's beta beside a GAN's)."""
    keys: list[tuple[str, Optional[str]]] = [("preset", None), ("seed", None)]
    for sec in ("data", "train", "model_config"):
        for v in views:
            keys += [(sec, k) for k in v.config.get(sec, {}) if (sec, k) not in keys and k not in NOT_SETTINGS]

    def value(v: RunView, a: str, b: Optional[str]):
        return v.config.get(a) if b is None else v.config.get(a, {}).get(b)

    out = []
    for a, b in keys:
        have = [v for v in views if b is None or b in v.config.get(a, {})]
        if len(have) >= 2 and len({json.dumps(value(v, a, b)) for v in have}) > 1:
            out.append((a if b is None else f"model.{b}" if a == "model_config" else b, [value(v, a, b) for v in views]))
    return out


def _metric_table(views: list[RunView]):
    """compare's table of the stored evaluations (columns split where settings make numbers incomparable)."""
    from ..compare import compare

    # the page shows the run settings itself: compare sees only the evaluations
    return compare([{"name": v.name, "config": {}, "evaluation": v.evaluation} for v in views])


def _metric_cell(v, best: bool) -> Cell:
    """A metric's cell: its number (an estimate with its standard error), bold where it is the column's best."""
    from ..compare import Estimate, number, with_error

    text = esc(with_error(v.value, v.se) if isinstance(v, Estimate) and v.se is not None else fmt(number(v)))
    return Cell(f"<strong>{text}</strong>" if best else text, number(v), "num best" if best else "num")


def comparison_body(views: list[RunView], links: list[str]) -> str:
    diffs = differing_settings(views)
    metrics = _metric_table(views).shown()  # as `genlab compare` prints it: ordered by kind, floors once, best bold
    term_names = list(dict.fromkeys(k for v in views for k in v.terms))
    columns = [(h, "", "") for h in ("run", "model", "dataset", "status", "step")]
    columns += [(label, "", f"{ARROW_TITLES[label[-1]]} is better" if label[-1] in ARROW_TITLES else "")
                for label in metrics.labels[1:]]
    columns += [(name, "differs", "this setting differs between the runs") for name, _ in diffs]
    columns += [(f"final {t}", "", "the last logged value of this training term") for t in term_names]
    header, header_classes, titles = (list(c) for c in zip(*columns))
    rows = []
    for i, v in enumerate(views):
        name = Cell(f'<a href="{esc(links[i])}">{esc(v.name)}</a>' if links[i] else esc(v.name), v.name)
        rows.append([name, v.model, v.dataset, Cell(badge(v.state), v.state), v.status.get("step")]
                    + [_metric_cell(x, i in best) for x, best in zip(metrics.rows[i][1:], metrics.best[1:])]
                    + [d[1][i] for d in diffs] + [v.last_row.get(t) for t in term_names])
    legend = ('<p class="legend-note muted">Click a column header to sort. <span class="differs">&#8800; columns</span> '
              'are settings that differ between the runs; the metrics come from each run\'s evaluation.json, '
              '&#8595; lower or &#8593; higher is better, the best of a column in bold.</p>')
    notes = "".join(f"<li>{esc(n)}</li>" for n in metrics.notes)
    body = legend + table(header, rows, header_classes=header_classes, header_titles=titles, label="runs and metrics")
    if metrics.floor is not None:
        from ..compare import number

        floors = [f"{esc(label)} {esc(fmt(number(v)))}" for label, v in zip(metrics.labels, metrics.floor)
                  if v is not None]
        body += (f'<p class="floor">Real vs real (the floor, the same for every run: each metric between two sets of '
                 f'real examples): {"; ".join(floors)}</p>')
    if notes:
        body += f'<details open><summary>what each metric column was computed with</summary><ul class="muted">{notes}</ul></details>'
    if not any(v.evaluation for v in views):
        body += ('<p class="muted">None of these runs has been evaluated yet: <code>genlab evaluate DIR --metrics '
                 '...</code> adds metric columns.</p>')
    parts = [f"<header><h1>Comparison of {len(views)} runs</h1>"
             f'<p class="subtitle">{esc(", ".join(f"{v.name} ({v.model} on {v.dataset})" for v in views))}</p></header>',
             nav([("table", "Table"), ("samples", "Samples"), ("curves", "Curves")]),
             section("table", "Every metric", body)]
    labels = epoch_labels(views)
    if labels:
        body = ('<p class="muted">Each run\'s fixed-noise samples at the same epoch (its latest grid at or before '
                'it); the slider goes through training.</p>'
                + frames("frames-data", [v.name for v in views], labels, [epoch_panel(v, labels) for v in views],
                         "" if any(v.kind == "points" for v in views) else "grid"))
    else:
        body = '<p class="muted">These runs have no sample grids yet.</p>'
    parts.append(section("samples", "Samples side by side", body))
    groups = {t: [(v.name, v.terms[t]) for v in views if t in v.terms] for t in term_names}
    body = (chart("curves-data", curve_spec(groups, "term", "training term"))
            if groups else '<p class="muted">No metrics logged yet.</p>')
    parts.append(section("curves", "Curves overlaid", '<p class="muted">One line per run; choose the term. Runs '
                         'of different models log different terms.</p>' + body))
    return "".join(parts)


def comparison_page(views: list[RunView], out: Path) -> str:
    links = []
    for v in views:
        page = v.path / REPORT
        links.append(os.path.relpath(page, out.parent) if page.exists() else "")
    return document(f"Comparison: {', '.join(v.name for v in views)}", comparison_body(views, links))


def write_comparison_report(paths: list[str | Path], out: str | Path) -> Path:
    """Write one page comparing the runs at `paths` to the file `out`."""
    if len({Path(p).resolve() for p in paths}) != len(paths):
        raise ConfigError("the same run directory is named twice; name each run once")
    views = [read_run(p, name=str(p)) for p in paths]
    return write_page(Path(out), comparison_page(views, Path(out)))

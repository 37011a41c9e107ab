"""The page of a study: a reproduction (``genlab reproduce``) or a sweep, whose folder holds many runs.

A study calls ``write_study_report(folder, markdown, figures, args)`` once, at the end, with the markdown it
writes as its table (genlab's own subset: headings, paragraphs, lists, pipe tables and checklists). The page
shows that markdown with its tables sortable, rows and columns of published numbers shaded beside ours,
reference rows (real-versus-real floors, reference sets) marked, and '- [x]' / '- [ ]' items as passed and
failed checks, with a count at the top; then the figures, every run directory under the folder (its state,
and a link to its own page), the study's options and the command that ran it. Each run's own page is written again too, with the
evaluations the study stored.

What the page is made from is kept in ``FOLDER/report.json``, so that ``genlab report FOLDER`` writes it
again later (after more runs finished, or with a newer genlab) without running the study.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Optional, Sequence

from ..errors import RunDirError
from ..rundir import RunDir, read_json, write_json
from .html import Cell, checklist, code_block, document, esc, figure, markdown, nav, section, table, write_page
from .runpage import REPORT, write_run_report
from .widgets import badge

STUDY = "report.json"
MAX_THUMBNAILS = 12  # runs whose final samples are shown beside the run list (more: the list only)
HIDDEN_OPTIONS = {"command", "table", "command_line"}


def write_study_report(folder: str | Path, markdown_text: str,
                       figures: Optional[Sequence[str | Path | tuple[str | Path, str]]] = None,
                       args: Optional[argparse.Namespace] = None) -> Path:
    """Write FOLDER/report.html for a study and keep what it was made from in FOLDER/report.json.

    `figures`: the pictures to show, each a file or (file, what it shows) (default: every PNG directly in
    the folder); `args`: the study's command-line options, shown as its settings (``args.command_line``,
    which the CLI sets, is shown as its command)."""
    folder = Path(folder)
    figures = sorted(folder.glob("*.png")) if figures is None else figures
    items = [(Path(f[0]), f[1]) if isinstance(f, tuple) else (Path(f), "") for f in figures]
    options = {k: v for k, v in vars(args).items() if k not in HIDDEN_OPTIONS and not callable(v)} if args else {}
    write_json(folder / STUDY, {
        "markdown": markdown_text,
        "figures": [{"file": os.path.relpath(f, folder), "about": about} for f, about in items],
        "options": {k: v if isinstance(v, (int, float, str, bool, type(None))) else str(v) for k, v in options.items()},
        "command": getattr(args, "command_line", None),
    })
    for run in _runs(folder):  # their evaluations were just stored: their own pages show them too
        write_run_report(run)
    return render_study(folder)


def render_study(folder: str | Path, out: Optional[str | Path] = None) -> Path:
    """Write the study page of `folder` from its report.json (to `out`, default FOLDER/report.html)."""
    folder = Path(folder)
    record = read_json(folder / STUDY)
    if not isinstance(record, dict) or not isinstance(record.get("markdown"), str):
        raise RunDirError(f"{folder / STUDY} does not hold a study's page record (no 'markdown' text)")
    out = Path(out) if out else folder / REPORT
    return write_page(out, study_page(folder, record, out))


def _title(md: str, folder: Path) -> tuple[str, str]:
    """The markdown's first level-1 heading (removed from the text) or the folder's name."""
    m = re.search(r"^# (.+)$", md, re.M)
    if not m:
        return folder.name, md
    return m.group(1).strip(), md[:m.start()] + md[m.end():]


def row_class(cells: list[str]) -> str:
    first = cells[0].lower() if cells else ""
    if "published" in first or first.startswith(("paper", "*")):
        return "published"
    if "floor" in first or "real vs real" in first or first.startswith("reference"):
        return "reference"
    return ""


def col_class(header: str) -> str:
    return "published" if re.search(r"\b(paper|published)\b", header.lower()) else ""


def _runs(folder: Path) -> list[Path]:
    found = {p.parent for pattern in ("*/config.json", "*/*/config.json") for p in folder.glob(pattern)}
    return sorted(found)


def _runs_section(folder: Path, out: Path) -> str:
    runs = _runs(folder)
    if not runs:
        return '<p class="muted">No run directory under this folder.</p>'
    rows, thumbs = [], []
    for path in runs:
        run = RunDir(path)
        cfg, status = run.read_config(), run.read_status()
        name = os.path.relpath(path, folder)
        page = path / REPORT
        link = (f'<a href="{esc(os.path.relpath(page, out.parent))}">{esc(name)}</a>' if page.exists() else esc(name))
        state = status.get("state", "unknown") if isinstance(status, dict) else "unknown"
        rows.append([Cell(link, name), cfg.get("model"), cfg.get("data", {}).get("dataset"), Cell(badge(state), state),
                     status.get("step") if isinstance(status, dict) else None,
                     Cell(esc(status.get("message", "")) if isinstance(status, dict) else "", cls="wrap")])
        final = run.samples / "final.png"
        if final.exists():
            thumbs.append((final, name, cfg.get("data_info", {}).get("kind") != "points"))
    body = table(["run", "model", "dataset", "status", "step", "message"], rows, label="runs")
    if thumbs and len(runs) <= MAX_THUMBNAILS:
        body += "<h3>Final samples</h3>" + '<div class="gallery">' + "".join(
            figure(p, esc(name), f"Samples of the run {name} at the end of its training", "grid" if images else "")
            for p, name, images in thumbs) + "</div>"
    return body


def study_page(folder: Path, record: dict, out: Path) -> str:
    title, md = _title(record["markdown"], folder)
    checks = checklist(md)
    passed = sum(ok for _, ok in checks)
    summary = ""
    if checks:
        cls = "pass" if passed == len(checks) else "fail"
        summary = (f'<p><span class="badge {cls}">{passed} of {len(checks)} checks pass</span> '
                   f'<span class="muted">computed from the measured numbers</span></p>')
    legend = ('<p class="legend-note muted">Click a column header to sort. <span class="published">Shaded</span>: '
              'published numbers; <span class="reference">italic</span>: reference rows, not models.</p>')
    parts = [f"<header><h1>{esc(title)}</h1>{summary}</header>",
             nav([("results", "Results"), ("figures", "Figures"), ("runs", "Runs"), ("reproduce", "Reproduce")]),
             section("results", "Results", legend + markdown(md, row_class, col_class, shift=1))]
    figures = [(folder / f["file"], f.get("about") or "") for f in record.get("figures", [])]
    shown = [(f, about) for f, about in figures if f.is_file()]
    body = ('<div class="gallery">' + "".join(
        figure(f, esc(f.name) + (f": {esc(about)}" if about else ""), about or f"Figure {f.stem} of {title}")
        for f, about in shown) + "</div>") if shown else '<p class="muted">This study drew no figure.</p>'
    body += "".join(f'<p class="alert warn">{esc(f.name)} is missing.</p>' for f, _ in figures if not f.is_file())
    parts.append(section("figures", "Figures", body))
    parts.append(section("runs", "Runs", _runs_section(folder, out)))
    options = record.get("options") or {}
    body = ""
    if record.get("command"):
        body += "<p>The command that ran this study (it re-uses finished runs and resumes unfinished ones):</p>"
        body += code_block(record["command"])
    if options:
        body += table(["option", "value"], [[k, v] for k, v in options.items()], sortable=False, label="options")
    body += "<p>Write this page again (for example after more runs finished):</p>" + code_block(f"genlab report {folder}")
    parts.append(section("reproduce", "Reproduce", body))
    return document(title, "".join(parts), source=str(folder))

"""The run page: everything a run directory holds, as one HTML file.

The model and its paper, the status (and why it stopped), the resolved config, the loss curves and eval
rows, the sample grid of every epoch with a slider, the pictures, every stored evaluation with its settings,
standard error and real-versus-real floor, and the command that trains the run again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

from .command import section_defaults, train_command
from .html import Cell, code_block, document, esc, figure, fmt, nav, section, table, write_page
from .read import RunView, metric_rows, model_paper, read_run, registries
from .widgets import badge, chart, curve_spec, epoch_labels, epoch_panel, frames

REPORT = "report.html"


def _len_text(v: RunView) -> str:
    train = v.config.get("train", {})
    step = v.status.get("step", v.last_row.get("step"))
    epoch = v.last_row.get("epoch")
    done = f"step {step}" if step is not None else "no step yet"
    if epoch is not None:
        done += f", epoch {fmt(float(epoch))}"
    goal = f"{train['steps']} steps" if train.get("steps") else f"{train.get('epochs')} epochs"
    return f"{done} of {goal}"


def _duration(seconds) -> str:
    if not isinstance(seconds, (int, float)):
        return "-"
    return f"{seconds:.1f} s" if seconds < 60 else f"{seconds / 60:.1f} min" if seconds < 3600 else \
        f"{seconds / 3600:.2f} h"


def _status_block(v: RunView, display_path: str) -> str:
    state, msg = v.state, v.status.get("message", "")
    step = v.status.get("step")
    if state in ("failed", "crashed"):
        why = msg or "no reason was recorded"
        return (f'<div class="alert" role="alert"><strong>This run {esc(state)} at step {esc(step)}.</strong> '
                f'{esc(why)}</div>')
    if state == "interrupted":
        return (f'<div class="alert warn" role="status"><strong>Interrupted at step {esc(step)}.</strong> {esc(msg)} '
                f'Continue with <code>genlab resume {esc(display_path)}</code>.</div>')
    if state == "running":
        return ('<div class="alert info" role="status"><strong>Training.</strong> This page is rewritten at every '
                'epoch; reload it to see the progress. <label><input type="checkbox" id="autoreload" checked> '
                'reload every 30 s</label></div>')
    if state == "unknown":
        return ('<div class="alert warn" role="status">This run directory has no status.json: it was never '
                'started, or an older genlab made it.</div>')
    return f'<p class="muted">{esc(msg)}</p>' if msg else ""


def _evaluation_cards(evaluation: dict) -> str:
    cards = []
    for metric, entry in evaluation.items():
        if not isinstance(entry, dict):
            continue
        rows = metric_rows(entry)
        has = {k: any(r[k] is not None for r in rows) for k in ("se", "std", "floor")}
        header = ["value", "number"] + [h for k, h in (("se", "± SE"), ("std", "spread (std)"),
                                                        ("floor", "real vs real (floor)")) if has[k]]
        body = [[r["key"], r["value"]] + [r[k] for k in ("se", "std", "floor") if has[k]] for r in rows]
        settings = entry.get("settings", {})
        dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(fmt(v) if not isinstance(v, (dict, list)) else json.dumps(v))}</dd>"
                     for k, v in settings.items()) if isinstance(settings, dict) else ""
        cards.append(f'<div class="card"><h3>{esc(metric)}</h3>{table(header, body, sortable=False, label=metric)}'
                     f'<details open><summary>settings</summary><dl class="settings">{dl}</dl></details></div>')
    return f'<div class="cards">{"".join(cards)}</div>'


def _eval_hint(v: RunView, display_path: str) -> str:
    from ..models.base import HasLikelihood

    MODELS, _ = registries()
    cls = MODELS.get(v.model) if v.model in MODELS else None
    metrics = "modes" if v.kind == "points" else "fid,kid,prdc,classes"
    if cls is not None and issubclass(cls, HasLikelihood):  # the VAE family
        metrics = f"nll,elbo,active-units,{metrics}" if v.kind != "points" else "nll,elbo,active-units"
    return (f'<p class="muted">No stored evaluation yet. Compute some with '
            f'<code>genlab evaluate {esc(display_path)} --metrics {metrics}</code> (<code>genlab metrics</code> '
            f'lists them all) and write this page again.</p>')


def _config_tables(cfg: dict) -> str:
    defaults = section_defaults(cfg)
    parts = []
    titles = {"train": "training (train)", "data": "data", "model_config": "model (model_config)"}
    for key, title in titles.items():
        sec = cfg.get(key)
        if not isinstance(sec, dict):
            continue
        base = defaults.get(key, {})
        rows, classes = [], []
        for name, value in sec.items():
            changed = name in base and json.dumps(base[name] if not isinstance(base[name], tuple)
                                                  else list(base[name])) != json.dumps(value)
            rows.append([name, Cell(esc(fmt(value)), fmt(value)), "set for this run" if changed else ""])
            classes.append("changed" if changed else "")
        parts.append(f'<div class="card"><h3>{esc(title)}</h3>' + table(["field", "value", ""], rows, row_classes=classes,
                                                                         sortable=False, label=title) + "</div>")
    info = cfg.get("data_info")
    if isinstance(info, dict):
        parts.append('<div class="card"><h3>data as the model saw it (data_info)</h3>' +
                     table(["field", "value"], [[k, Cell(esc(fmt(v)))] for k, v in info.items()], sortable=False)
                     + "</div>")
    raw = f"<details><summary>config.json as saved</summary><pre>{esc(json.dumps(cfg, indent=2))}</pre></details>"
    return ('<p class="muted">Every field of the resolved config. Shaded rows differ from what '
            '<code>genlab train</code> chooses by default for this model and dataset.</p>'
            f'<div class="cards">{"".join(parts)}</div>{raw}')


def run_body(v: RunView, display_path: str) -> str:
    description, doc = model_paper(v.model)
    info = v.config.get("data_info", {})
    shape = "x".join(str(s) for s in info.get("shape", []))
    facts = [
        ("model", f"<code>{esc(v.model)}</code>" + (f", preset <code>{esc(v.config['preset'])}</code>"
                                                    if v.config.get("preset") else "") + f": {esc(description)}"),
        ("data", f"<code>{esc(v.dataset)}</code> ({esc(info.get('kind', '?'))} {esc(shape)}"
                 + (f", {info['num_classes']} classes" if info.get("num_classes") else "")
                 + (", two domains" if info.get("domains", 1) == 2 else "") + ")"),
        ("progress", esc(_len_text(v))),
        ("training time", esc(_duration(v.last_row.get("time")))),
        ("seed / device", esc(f"{v.config.get('seed')} / {v.config.get('device')}")),
        ("checkpoints", esc(", ".join(v.checkpoints) or "none yet")),
        ("created", esc(f"{v.config.get('created', '?')} by genlab {v.config.get('genlab_version', '?')}")),
        ("folder", f"<code>{esc(display_path)}</code>"),
    ]
    head = (f"<header><h1>{esc(v.name)} {badge(v.state)}</h1>"
            f'<p class="subtitle">{esc(v.model)} on {esc(v.dataset)}</p>{_status_block(v, display_path)}'
            f'<dl class="facts">{"".join(f"<dt>{k}</dt><dd>{d}</dd>" for k, d in facts)}</dl></header>')
    parts = [head, nav([("curves", "Curves"), ("samples", "Samples"), ("pictures", "Pictures"),
                        ("evaluation", "Evaluation"), ("model", "Model"), ("config", "Config"),
                        ("reproduce", "Reproduce")])]

    static = figure(v.static_curves, "Loss curves (a static picture: scripts are off, so the interactive chart "
                    "cannot be drawn)", f"Loss curves of {v.name}, one panel per logged term") if v.static_curves else ""
    if v.terms:
        body = chart("curves-data", curve_spec({"training terms": list(v.terms.items())}, "terms", "loss terms"),
                     static)
        body = '<p class="muted">Every term the model logs, averaged over each logging interval.</p>' + body
    else:
        body = '<p class="muted">No metrics logged yet.</p>'
    if v.evals:
        body += "<h3>Evaluations during training</h3>" + chart(
            "evals-data", curve_spec({m: list(s.items()) for m, s in v.evals.items()}, "metric", "evaluation"))
    parts.append(section("curves", "Curves", body))

    labels = epoch_labels([v])
    if labels:
        what = "2-D samples over the data" if v.kind == "points" else "samples from the same fixed noise"
        body = (f'<p class="muted">{esc(what)} after every epoch that drew one; move the slider to go through '
                f'training.</p>' + frames("frames-data", [v.name], labels, [epoch_panel(v, labels)],
                                          "grid" if v.kind != "points" else ""))
    else:
        body = '<p class="muted">No sample grid yet (the first is drawn at the end of the first epoch).</p>'
    parts.append(section("samples", "Samples over training", body))

    pics = [(t, p, a) for t, p, a in v.pictures if p.name != "final.png"]
    body = ('<div class="gallery">' + "".join(figure(p, f"<strong>{esc(t)}</strong>: {esc(what)}",
                                                      f"{t} of {v.name}: {what}", "grid" if _is_grid(p) else "")
                                               for t, p, what in pics)
            + "</div>") if pics else '<p class="muted">No pictures yet (they are drawn at the end of training).</p>'
    parts.append(section("pictures", "Pictures", body))

    body = _evaluation_cards(v.evaluation) if v.evaluation else _eval_hint(v, display_path)
    parts.append(section("evaluation", "Evaluation", body))

    body = f"<p>{esc(description)}</p>"
    if doc:
        body += f"<details open><summary>the model's file: paper and algorithm</summary><pre>{esc(doc)}</pre></details>"
    parts.append(section("model", "Model and paper", body))
    parts.append(section("config", "Resolved config", _config_tables(v.config)))
    parts.append(section("reproduce", "Reproduce", _reproduce(v, display_path)))
    return "".join(parts)


def _is_grid(path: Path) -> bool:
    """Pictures made of images (pixelated when enlarged) rather than matplotlib figures."""
    return path.name in {"final.png", "reconstructions.png", "interpolations.png", "manifold.png", "translations.png"}


def _reproduce(v: RunView, display_path: str) -> str:
    out = str(Path(display_path).with_name(Path(display_path).name + "-again"))
    command, notes = train_command(v.config, out)
    body = ""
    if command:
        body += ("<p>Trains the same run into a new folder (seeded: the same numbers on the same machine and "
                 "device; a run that was resumed to a longer length is trained to that length at once):</p>"
                 + code_block(command))
    body += "".join(f'<p class="alert warn">{esc(n)}</p>' for n in notes)
    body += ("<p>Continue this run, evaluate it, or write this page again:</p>"
             + code_block(f"genlab resume {display_path} --epochs N\n"
                          f"genlab evaluate {display_path} --metrics ...\n"
                          f"genlab report {display_path}"))
    return body


def run_page(v: RunView, display_path: str) -> str:
    return document(f"{v.name}: {v.model} on {v.dataset} ({v.state})", run_body(v, display_path),
                    source=display_path, reload=v.state == "running")


def write_run_report(path: str | Path, out: Optional[str | Path] = None) -> Path:
    """Write the page of the run directory `path` (to `out`, default DIR/report.html)."""
    view = read_run(path)
    return write_page(Path(out) if out else view.path / REPORT, run_page(view, str(path)))

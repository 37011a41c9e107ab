"""Pieces shared by the pages: the status badge, charts drawn by the page's script, and pictures that
change with an epoch slider."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from .html import data_uri, esc, finite, img, json_script
from .read import RunView

STATE_TEXT = {
    "finished": "finished",
    "running": "running",
    "interrupted": "interrupted",
    "failed": "failed",
    "crashed": "crashed",
}


def badge(state: str) -> str:
    return f'<span class="badge state-{esc(state)}">{esc(STATE_TEXT.get(state, state))}</span>'


def curve_spec(groups: dict[str, list[tuple[str, dict]]], group_label: str, ylabel: str) -> dict:
    has_epoch = any(any(e == e for e in s["epoch"]) for series in groups.values() for _, s in series)
    return {
        "groups": {g: [{"name": name, "x": {"step": s["step"], "epoch": finite(s["epoch"])}, "y": finite(s["y"])}
                       for name, s in series] for g, series in groups.items()},
        "xkeys": ["step", "epoch"] if has_epoch else ["step"],
        "group_label": group_label,
        "ylabel": ylabel,
    }


def chart(id_: str, spec: dict, fallback: str = "") -> str:
    """A chart drawn by the page's script; `fallback` (a static picture) is shown where scripts do not run."""
    nos = f"<noscript>{fallback}</noscript>" if fallback else ""
    return f'<div class="chart" data-chart="{esc(id_)}"></div>{json_script(id_, spec)}{nos}'


def frames(id_: str, names: list[str], labels: list[str], panels: list[list[Optional[tuple[Path, str]]]],
           cls: str = "grid") -> str:
    """Pictures that change with a slider: panels[p][i] is panel p's (file, alt text) at labels[i], or None."""
    uris: dict[Path, str] = {}

    def uri(p: Path) -> str:
        if p not in uris:
            uris[p] = data_uri(p)
        return uris[p]

    last = len(labels) - 1
    figs = []
    for name, frames_ in zip(names, panels):
        shown = frames_[last]
        pic = (img(shown[0], shown[1], cls, uri(shown[0])) if shown else
               f'<img class="{cls}" alt="" hidden src="data:image/gif;base64,R0lGODlhAQABAAAAACwAAAAAAQABAAA=">')
        empty = "" if shown else f"{esc(name)}: no picture at {esc(labels[last])}"
        figs.append(f'<figure class="panel">{pic}<div class="empty"{" hidden" if shown else ""}>{empty}</div>'
                    f'<figcaption>{esc(name)}</figcaption></figure>')
    payload = {"labels": labels, "names": names,
               "panels": [[{"src": uri(f[0]), "alt": f[1]} if f else None for f in fr] for fr in panels]}
    single = " single" if len(names) == 1 else ""
    controls = ""
    if len(labels) > 1:
        controls = (f'<div class="slider"><button type="button" data-prev aria-label="previous">&#9664;</button>'
                    f'<input type="range" min="0" max="{last}" value="{last}" step="1" aria-label="epoch">'
                    f'<button type="button" data-next aria-label="next">&#9654;</button>'
                    f'<output aria-live="polite">{esc(labels[last])}</output>'
                    f'<button type="button" data-play>play</button></div>')
    return (f'<div class="frames{single}" data-frames="{esc(id_)}">{controls}<div class="panels">{"".join(figs)}</div>'
            f'</div>{json_script(id_, payload)}')


def epoch_labels(views: list[RunView]) -> list[str]:
    epochs = sorted({e for v in views for e, _ in v.epochs})
    return [f"epoch {e}" for e in epochs] + (["final"] if any(v.final for v in views) else [])


def epoch_panel(v: RunView, labels: list[str]) -> list[Optional[tuple[Path, str]]]:
    """The run's grid at each label: its latest epoch grid at or before it (None before its first)."""
    out: list[Optional[tuple[Path, str]]] = []
    for label in labels:
        if label == "final":
            out.append((v.final, f"{v.name}: samples at the end of training") if v.final else None)
            continue
        e = int(label.split()[1])
        have = [(k, p) for k, p in v.epochs if k <= e]
        out.append((have[-1][1], f"{v.name}: fixed-noise samples after epoch {have[-1][0]}") if have else None)
    return out

"""The pieces every page is made of: escaping, embedded images, sortable tables, a small markdown reader
(for the tables reproductions write) and the document shell with the package's own style and script
inlined, so that a page is one file that needs no network."""

from __future__ import annotations

import base64
import datetime as _dt
import json
import math
import re
from dataclasses import dataclass
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterable, Optional


def write_page(path: Path, text: str) -> Path:
    """Write a page atomically (a reader never sees half a page), making its folder if needed."""
    from ..rundir import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def esc(x: Any) -> str:
    return escape(str(x), quote=True)


def fmt(v: Any) -> str:
    """A number as a table shows it: integers whole, others to 4 significant digits; '-' for nothing."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.3e}"
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return ",".join(fmt(x) for x in v)
    return str(v)


def data_uri(path: Path) -> str:
    kind = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".svg": "image/svg+xml"}
    mime = kind.get(Path(path).suffix.lower(), "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(Path(path).read_bytes()).decode('ascii')}"


def img(path: Path, alt: str, cls: str = "", uri: Optional[str] = None) -> str:
    """An embedded image; `alt` is required (every picture says what it shows)."""
    c = f' class="{esc(cls)}"' if cls else ""
    return f'<img{c} src="{uri or data_uri(path)}" alt="{esc(alt)}">'


def figure(path: Path, caption: str, alt: str, cls: str = "") -> str:
    """A captioned picture; a wide one (a row of panels) spans two columns of a gallery."""
    wide = " wide" if _aspect(path) >= 2.2 else ""
    return f'<figure class="pic{wide}">{img(path, alt, cls)}<figcaption>{caption}</figcaption></figure>'


def _aspect(path: Path) -> float:
    from PIL import Image

    with Image.open(path) as im:
        return im.width / max(1, im.height)


def json_script(id_: str, obj: Any) -> str:
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return f'<script type="application/json" id="{esc(id_)}">{text}</script>'


def finite(values: Iterable[float]) -> list[Optional[float]]:
    """Values for a chart's JSON: NaN and infinities become null (a gap in the line)."""
    return [v if isinstance(v, (int, float)) and math.isfinite(v) else None for v in values]


@dataclass
class Cell:
    """A table cell: its HTML and the value it sorts by (a number, or text)."""

    html: str
    sort: Any = None
    cls: str = ""


def cell(v: Any) -> Cell:
    if isinstance(v, Cell):
        return v
    number = isinstance(v, (int, float)) and not isinstance(v, bool)
    return Cell(esc(fmt(v)), v if number else ("" if v is None else str(v)), "num" if number else "")


def table(header: list, rows: list[list], *, caption: str = "", row_classes: Optional[list[str]] = None,
          header_classes: Optional[list[str]] = None, header_titles: Optional[list[str]] = None,
          sortable: bool = True, label: str = "") -> str:
    """A table in a horizontally scrolling box; with `sortable`, a click on a header sorts by it."""
    hc = header_classes or [""] * len(header)
    ht = header_titles or [""] * len(header)
    heads = "".join(f'<th scope="col"{_attr("class", c)}{_attr("title", t)}>{h.html if isinstance(h, Cell) else esc(h)}</th>'
                    for h, c, t in zip(header, hc, ht))
    body = []
    for i, row in enumerate(rows):
        rc = (row_classes or [""] * len(rows))[i]
        tds = []
        for v in row:
            c = cell(v)
            sort = "" if c.sort is None else f' data-sort="{esc(c.sort)}"'
            tds.append(f"<td{_attr('class', c.cls)}{sort}>{c.html}</td>")
        body.append(f"<tr{_attr('class', rc)}>{''.join(tds)}</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    aria = f' aria-label="{esc(label)}"' if label else ""
    cls = ' class="sortable"' if sortable else ""
    return (f'<div class="scroll" tabindex="0"{aria}><table{cls}>{cap}<thead><tr>{heads}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _attr(name: str, value: str) -> str:
    return f' {name}="{esc(value)}"' if value else ""


def section(id_: str, title: str, body: str) -> str:
    return f'<section id="{esc(id_)}" aria-labelledby="{esc(id_)}-h"><h2 id="{esc(id_)}-h">{esc(title)}</h2>{body}</section>'


def nav(items: list[tuple[str, str]]) -> str:
    links = "".join(f'<li><a href="#{esc(i)}">{esc(t)}</a></li>' for i, t in items)
    return f'<nav aria-label="sections"><ul>{links}</ul></nav>'


def code_block(text: str, copy: bool = True) -> str:
    button = '<button type="button" class="copy" data-copy>copy</button>' if copy else ""
    return f'<div class="cmd"><pre><code>{esc(text)}</code></pre>{button}</div>'


def asset(name: str) -> str:
    return resources.files("genlab.report").joinpath("assets", name).read_text(encoding="utf-8")


def document(title: str, body: str, *, source: str = "", reload: bool = False) -> str:
    """The whole page: the package's stylesheet and script inlined, nothing fetched from anywhere."""
    from .. import __version__

    when = _dt.datetime.now().isoformat(timespec="seconds")
    flag = ' data-reload="30"' if reload else ""
    foot = f"Written by genlab {esc(__version__)} at {esc(when)}" + (f" from {esc(source)}" if source else "")
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<meta name=\"generator\" content=\"genlab {esc(__version__)}\"><title>{esc(title)}</title>"
        f"<style>{asset('report.css')}</style></head>\n"
        f"<body{flag}><main>{body}</main><footer>{foot}.</footer>\n<script>{asset('report.js')}</script></body></html>\n"
    )


# ----------------------------------------------------------------------------------------------------
# markdown: the subset genlab writes (headings, paragraphs, lists, checklists, pipe tables, inline code,
# emphasis); everything else is text

CHECK = re.compile(r"^\s*[-*] \[( |x|X)\] (.*)$")
ITEM = re.compile(r"^\s*[-*] (.*)$")
HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def inline(text: str) -> str:
    out = esc(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])", r"<em>\1</em>", out)
    return out


def checklist(md: str) -> list[tuple[str, bool]]:
    """The checklist items ('- [x] text' passed, '- [ ] text' failed) of a markdown text."""
    return [(m.group(2), m.group(1) != " ") for line in md.splitlines() if (m := CHECK.match(line))]


def markdown(md: str, row_class: Optional[Callable[[list[str]], str]] = None,
             col_class: Optional[Callable[[str], str]] = None, shift: int = 0) -> str:
    """HTML of `md`; tables become sortable tables (`row_class(cells)` and `col_class(header)` add classes),
    checklist items become passed/failed checks; headings move down by `shift` levels."""
    lines = md.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif m := HEADING.match(line):
            level = min(6, len(m.group(1)) + shift)
            out.append(f"<h{level}>{inline(m.group(2))}</h{level}>")
            i += 1
        elif line.lstrip().startswith("|"):
            block = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                block.append(lines[i])
                i += 1
            out.append(_md_table(block, row_class, col_class))
        elif ITEM.match(line):
            items = []
            while i < len(lines) and ITEM.match(lines[i]):
                items.append(lines[i])
                i += 1
            out.append(_md_list(items))
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not (HEADING.match(lines[i]) or ITEM.match(lines[i])
                                                                or lines[i].lstrip().startswith("|")):
                para.append(lines[i].strip())
                i += 1
            out.append(f"<p>{inline(' '.join(para))}</p>")
    return "\n".join(out)


def _cells(line: str) -> list[str]:
    line = line.strip()
    line = line[1:] if line.startswith("|") else line
    line = line[:-1] if line.endswith("|") else line
    return [c.strip() for c in line.split("|")]


def _md_table(block: list[str], row_class, col_class) -> str:
    header = _cells(block[0])
    body = [_cells(b) for b in block[1:] if not re.fullmatch(r"[\s|:-]+", b)]
    cols = [col_class(h) if col_class else "" for h in header]
    rows = [[Cell(inline(c), _sort_key(c), " ".join(filter(None, ["num" if _sort_key(c) != c else "", k])))
             for c, k in zip(r, cols)] for r in body]
    return table([Cell(inline(h)) for h in header], rows, header_classes=cols,
                 row_classes=[row_class(r) if row_class else "" for r in body])


def _sort_key(text: str):
    """A cell's number (its leading number, as in '86.76 +- 0.20'), or its text."""
    m = re.match(r"^\s*\**([-+]?\d[\d,]*\.?\d*(?:e[-+]?\d+)?)", text, re.I)
    if not m:
        return text
    try:
        return float(m.group(1).replace(",", ""))
    except ValueError:
        return text


def _md_list(items: list[str]) -> str:
    lis = []
    checks = 0
    for line in items:
        if m := CHECK.match(line):
            checks += 1
            ok = m.group(1) != " "
            word, mark = ("passed", "✓") if ok else ("failed", "✗")
            lis.append(f'<li class="check {"pass" if ok else "fail"}"><span class="mark" aria-hidden="true">{mark}'
                       f'</span><span class="sr">{word}: </span>{inline(m.group(2))}</li>')
        else:
            lis.append(f"<li>{inline(ITEM.match(line).group(1))}</li>")
    return f'<ul{_attr("class", "checks" if checks == len(items) else "")}>{"".join(lis)}</ul>'

"""Every option of a typed config, with its type, default, allowed values and meaning.

The meaning of a field is its comment in the config's source, so the dataclass stays the one place where an
option is declared and explained: the comment at the end of the field's line (continued on the next lines
when they are indented comments), or the comment lines just above it. ``field(metadata={"help": ...})``
takes precedence where a field has it. ``genlab models MODEL``, ``genlab datasets NAME`` and ``genlab
train --help`` print these tables.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import textwrap
import tokenize
import typing
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal


@dataclass(frozen=True)
class Option:
    name: str
    type: str  # int, float, bool, str, ints (a tuple: 512,256)
    default: str
    choices: tuple[str, ...]  # allowed values of a Literal field; () for any of its type
    meaning: str


def options(cls, defaults: typing.Optional[object] = None) -> list[Option]:
    """The options of config class `cls`; `defaults`: an instance whose values are shown as the defaults."""
    hints = typing.get_type_hints(cls)
    notes = field_comments(cls)
    out = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        default = getattr(defaults, f.name) if defaults is not None else _default(f)
        out.append(Option(f.name, _type_name(tp), _text(default), _choices(tp),
                          f.metadata.get("help") or notes.get(f.name, "")))
    return out


def _default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _text(value) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "(none)"
    if isinstance(value, str) and value == "":
        return '""'
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _choices(tp) -> tuple[str, ...]:
    if typing.get_origin(tp) is Literal:
        return tuple(str(c) for c in typing.get_args(tp))
    return ()


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "choice"
    if origin is tuple:
        return f"{_type_name(typing.get_args(tp)[0])}s"
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None)) + " or none"
    return getattr(tp, "__name__", str(tp))


def field_comments(cls) -> dict[str, str]:
    """Field name -> its comment where the field is declared: in `cls` or the config it extends."""
    notes: dict[str, str] = {}
    for base in reversed(cls.__mro__):
        if dataclasses.is_dataclass(base):
            notes.update(_own_comments(base))
    return notes


@lru_cache(maxsize=None)
def _own_comments(cls) -> dict[str, str]:
    """Field name -> its comment in the class's own source ({} where the source cannot be read)."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    names = {f.name for f in dataclasses.fields(cls)}
    comments = {tok.start[0]: tok.string[1:] for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                if tok.type == tokenize.COMMENT}
    notes: dict[str, list[str]] = {}
    above: list[str] = []  # comment lines waiting for the field below them
    last = None  # the field whose line ended in a comment: indented comment lines below continue it
    for row, line in enumerate(source.splitlines(), start=1):
        text = comments.get(row)
        if line.lstrip().startswith("#"):
            if last is not None and text.startswith("  "):
                notes[last].append(text.strip())
            else:
                above.append(text.strip())
                last = None
            continue
        name = line.split(":", 1)[0].strip() if line.startswith("    ") and not line.startswith("     ") else None
        if name in names:
            notes[name] = above + ([text.strip()] if text else [])
            last = name if text else None
        else:
            last = None
        above = []
    return {k: " ".join(v) for k, v in notes.items() if v}


def format_options(opts: list[Option], width: int = 110) -> str:
    """A table: name, type, default, allowed values, then the meaning wrapped under it."""
    if not opts:
        return "  (no options)\n"
    w_name = max(len(o.name) for o in opts)
    w_type = max(len(o.type) for o in opts)
    lines = []
    for o in opts:
        head = f"  {o.name:<{w_name}}  {o.type:<{w_type}}  default {o.default}"
        if o.choices:
            head += f"  ({' | '.join(o.choices)})"
        lines.append(head)
        if o.meaning:
            lines += textwrap.wrap(o.meaning, width, initial_indent=" " * (w_name + 4),
                                   subsequent_indent=" " * (w_name + 4))
    return "\n".join(lines) + "\n"


__all__ = ["Option", "options", "field_comments", "format_options"]

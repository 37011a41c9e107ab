"""What a sweep varies: parameters given as ``KEY=SPEC``, their grid, their random draws, and the names of
the settings they make.

A SPEC is a list of values or a typed range:

    beta=1,4,10                    values (parsed as the config field's type); also choice:none,linear
    lr=log:1e-5:1e-3               a log-uniform range (floats > 0)
    dropout=float:0:0.5            a uniform range
    k=int:1:50                     integers, both ends included

A grid takes every combination of lists (ranges have no grid: list values, or draw with --random or
--search optuna). Random search draws settings from a seeded generator, so the same command draws the same
settings and a stopped sweep finds its trials again; drawn floats are rounded to 3 significant digits,
which is also how their run directories are named. Every key must be a config field of the model's
``genlab train`` and every value valid for it: bad input is a one-line ``ConfigError``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import math
import re
import types
import typing
from dataclasses import dataclass
from typing import Literal, Optional

from ..config import parse_value
from ..errors import ConfigError

Kind = Literal["values", "log", "float", "int"]
RANGE_KINDS = ("log", "float", "int")
NOT_SWEPT = {"seed": "give the seeds with --seeds", "device": "give the devices with --device",
             "preset": "give the preset with --preset"}


@dataclass(frozen=True)
class Param:
    """One swept parameter: a list of values (their texts, as written) or a range."""

    key: str  # as the user wrote it (a config key, or section.key)
    kind: Kind
    values: tuple[str, ...] = ()  # kind "values"
    low: float = 0.0  # ranges, both ends included
    high: float = 0.0
    texts: tuple[str, str] = ("", "")  # the ends as written

    @property
    def is_range(self) -> bool:
        return self.kind in RANGE_KINDS

    def describe(self) -> str:
        if self.kind == "values":
            return f"{self.key} in {{{', '.join(self.values)}}}"
        return f"{self.key} ~ {self.kind}[{self.texts[0]}, {self.texts[1]}]"


def parse_param(text: str) -> Param:
    """``KEY=SPEC`` -> Param (syntax only; ``check_space`` checks keys and values against the configs)."""
    key, eq, spec = text.partition("=")
    key = key.strip().lstrip("-")
    if not eq or not key or not spec.strip():
        raise ConfigError(f"cannot read the sweep parameter {text!r}: write KEY=V1,V2,... or KEY=log:LOW:HIGH, "
                          f"KEY=float:LOW:HIGH, KEY=int:LOW:HIGH, KEY=choice:A,B")
    if key.replace("-", "_").split(".")[-1] in NOT_SWEPT:
        raise ConfigError(f"'{key}' cannot be a sweep parameter: {NOT_SWEPT[key.replace('-', '_').split('.')[-1]]}")
    spec = spec.strip()
    head, colon, rest = spec.partition(":")
    if colon and head in RANGE_KINDS:
        ends = rest.split(":")
        if len(ends) != 2 or not all(e.strip() for e in ends):
            raise ConfigError(f"invalid range {spec!r} for '{key}': write {head}:LOW:HIGH")
        lo_text, hi_text = (e.strip() for e in ends)
        number = int if head == "int" else float
        try:
            lo, hi = number(lo_text), number(hi_text)
        except ValueError:
            what = "integers" if head == "int" else "numbers"
            raise ConfigError(f"invalid range {spec!r} for '{key}': its ends must be {what}") from None
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ConfigError(f"invalid range {spec!r} for '{key}': its ends must be finite")
        if not lo < hi:
            raise ConfigError(f"invalid range {spec!r} for '{key}': LOW must be below HIGH")
        if head == "log" and lo <= 0:
            raise ConfigError(f"invalid range {spec!r} for '{key}': a log range needs LOW > 0")
        return Param(key, head, (), float(lo), float(hi), (lo_text, hi_text))
    if colon and head == "choice":
        spec = rest
    elif colon and re.fullmatch(r"[a-z]+", head) and head not in ("true", "false"):
        if not re.fullmatch(r"[a-z]+", rest.split(":")[0] or "x"):  # a word and a colon: a mistyped kind
            raise ConfigError(f"unknown range kind {head!r} in '{key}={spec}'; use log, float, int or choice")
    values = tuple(v.strip() for v in spec.split(","))
    if not all(values):
        raise ConfigError(f"'{key}={spec}' has an empty value; write KEY=V1,V2,...")
    if len(set(values)) != len(values):
        raise ConfigError(f"'{key}={spec}' names a value twice")
    return Param(key, "values", values)


def parse_params(texts: list[str]) -> list[Param]:
    params = [parse_param(t) for t in texts]
    keys = [canonical(p.key) for p in params]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise ConfigError(f"the sweep parameter '{twice[0]}' is given twice; give all its values in one --grid")
    return params


def canonical(key: str) -> str:
    return key.replace("-", "_")


def parse_seeds(text: str) -> list[int]:
    """``0,1,2`` -> [0, 1, 2]."""
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ConfigError(f"--seeds {text!r}: write the seeds as integers separated by commas, e.g. 0,1,2") from None
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ConfigError(f"--seeds {text!r}: give distinct integers >= 0, e.g. 0,1,2")
    return seeds


# ----------------------------------------------------------------------------------------------------
# checking against the configs


def param_type(model: str, dataset: str, key: str, fixed: dict[str, str]):
    """The type hint of the config field `key` (the config layer's one-line error for an unknown key)."""
    from ..api import make_configs
    from ..config import field_type

    cfgs = make_configs(model, dataset, fixed)
    return field_type({s: cfgs[s] for s in ("train", "data", "model")}, key)


def numeric_type(tp) -> Optional[type]:
    """int or float for a numeric field (Optional[int] too), else None."""
    args = [a for a in typing.get_args(tp) if a is not type(None)] if typing.get_origin(tp) in (
        typing.Union, types.UnionType) else [tp]
    return args[0] if len(args) == 1 and args[0] in (int, float) else None


def check_space(model: str, dataset: str, params: list[Param], fixed: dict[str, str]) -> dict[str, object]:
    """Check every key and value against the model's configs (fixed settings applied); return the field type
    of each parameter. Ranges must be on numeric fields (int ranges on integer fields)."""
    from ..api import make_configs

    make_configs(model, dataset, fixed)  # the fixed settings alone are valid
    types = {}
    for p in params:
        if canonical(p.key) in {canonical(k) for k in fixed}:
            raise ConfigError(f"'{p.key}' is both swept and fixed; give it once")
        tp = param_type(model, dataset, p.key, fixed)
        types[p.key] = tp
        if p.is_range:
            if numeric_type(tp) is None:
                raise ConfigError(f"'{p.key}' takes {_type_words(tp)}, so it cannot take {'an' if p.kind == 'int' else 'a'} {p.kind} range; "
                                  f"list its values instead ({p.key}=A,B,...)")
            if numeric_type(tp) is int and p.kind != "int":
                raise ConfigError(f"'{p.key}' is an integer: write {p.key}=int:LOW:HIGH")
            ends = (p.texts[0], p.texts[1])
        else:
            ends = p.values
        for text in ends:
            try:
                make_configs(model, dataset, {**fixed, p.key: text})
            except ConfigError as e:
                raise ConfigError(f"sweep parameter {p.key}={text}: {e}") from None
    return types


def _type_words(tp) -> str:
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(map(str, typing.get_args(tp)))
    return {bool: "true or false", str: "text"}.get(tp, "a list or text")


# ----------------------------------------------------------------------------------------------------
# settings


Setting = dict  # key -> value text, in the parameters' order


def grid(params: list[Param]) -> list[Setting]:
    """Every combination of the listed values, the first parameter varying slowest."""
    ranged = [p for p in params if p.is_range]
    if ranged:
        p = ranged[0]
        raise ConfigError(f"'{p.key}={p.kind}:{p.texts[0]}:{p.texts[1]}' is a range, and a grid needs values: list "
                          f"them ({p.key}=A,B,C), or draw settings with --random N or --search optuna")
    return [dict(zip([p.key for p in params], combo)) for combo in itertools.product(*[p.values for p in params])]


def draw(p: Param, rng) -> str:
    """One value of `p` as text: a listed value, an integer, or a float rounded to 3 significant digits
    (kept within the range's ends)."""
    if p.kind == "values":
        return p.values[int(rng.integers(len(p.values)))]
    if p.kind == "int":
        return str(int(rng.integers(int(p.low), int(p.high) + 1)))
    if p.kind == "log":
        v = math.exp(rng.uniform(math.log(p.low), math.log(p.high)))
    else:
        v = rng.uniform(p.low, p.high)
    text = f"{v:.3g}"
    if float(text) < p.low:
        return p.texts[0]
    if float(text) > p.high:
        return p.texts[1]
    return text


def random_settings(params: list[Param], n: int, seed: int = 0) -> list[Setting]:
    """n distinct settings drawn from the parameters with a generator seeded by `seed` (the same n and seed
    draw the same settings, and a larger n draws the same first ones)."""
    import numpy as np

    if n < 1:
        raise ConfigError("--random N needs N >= 1")
    rng = np.random.default_rng(seed)
    found: list[Setting] = []
    seen: set[tuple] = set()
    for _ in range(100 * n):
        s = {p.key: draw(p, rng) for p in params}
        if tuple(s.values()) not in seen:
            seen.add(tuple(s.values()))
            found.append(s)
            if len(found) == n:
                return found
    raise ConfigError(f"--random {n}: the parameters hold only {len(found)} distinct settings; lower N, widen the "
                      f"ranges, or take the whole grid (without --random)")


SAFE = re.compile(r"[^A-Za-z0-9._+=,-]")


def setting_name(setting: Setting) -> str:
    """A folder name for a setting: ``beta=4,lr=0.0003``; characters a file name should not hold become _,
    and a name changed that way (or longer than 120 characters) gets a hash of the setting, so that two
    settings never share a folder."""
    if not setting:
        return "default"
    exact = ",".join(f"{k}={v}" for k, v in setting.items())
    name = SAFE.sub("_", exact)
    if name != exact or len(name) > 120:
        name = f"{name[:100]}~{hashlib.sha256(exact.encode()).hexdigest()[:8]}"
    return name


def typed_value(text: str, tp, key: str):
    """A value's text as its field's type (numbers for the effects figure's axes)."""
    return parse_value(tp, text, key)


__all__ = ["Param", "Setting", "parse_param", "parse_params", "parse_seeds", "check_space", "grid",
           "random_settings", "setting_name", "typed_value", "numeric_type", "canonical"]


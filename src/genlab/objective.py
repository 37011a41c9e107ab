"""Which evaluated number is to be minimized or maximized: ``best=fid`` in training, ``--metric fid`` in sweeps.

An objective names a registered metric, or one of the numbers a metric returns, with its direction:

    fid, kid, nll, elbo, active-units, ...   a metric: its main number, in the direction the table says
    recall, bits_per_dim, class_kl, ...      a number some metric returns (the table says which metric)
    prdc.recall                              METRIC.NUMBER
    min:METRIC.NUMBER, max:NUMBER            the direction given (needed for numbers the table lacks)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from .errors import ConfigError

# number -> (the metric that returns it, "min" when lower is better)
NUMBERS: dict[str, tuple[str, str]] = {
    "fid": ("fid", "min"), "kid": ("kid", "min"), "is": ("is", "max"),
    "precision": ("prdc", "max"), "recall": ("prdc", "max"), "density": ("prdc", "max"), "coverage": ("prdc", "max"),
    "classes": ("classes", "max"), "class_kl": ("classes", "min"), "confidence": ("classes", "max"),
    "conditional_accuracy": ("classes", "max"),
    "nll_nats": ("nll", "min"), "bits_per_dim": ("nll", "min"), "elbo_nats": ("elbo", "max"),
    "kl_nats": ("elbo", "min"), "rec_nats": ("elbo", "min"),
    "active_units": ("active-units", "max"),
    "mse": ("reconstruction", "min"), "l1": ("reconstruction", "min"),
    "cycle_a": ("cycle", "min"), "cycle_b": ("cycle", "min"),
    "critic": ("critic", "min"), "diversity": ("diversity", "max"),
    "modes": ("modes", "max"), "hq_percent": ("modes", "max"), "reverse_kl": ("modes", "min"),
    "purity": ("codes", "max"), "mi_cat": ("codes", "max"),
}
# a metric -> its main number, where that is not the metric's own name
MAIN: dict[str, str] = {"nll": "nll_nats", "elbo": "elbo_nats", "active-units": "active_units",
                        "reconstruction": "mse", "cycle": "cycle_a", "codes": "purity", "prdc": "recall"}


@dataclass(frozen=True)
class Objective:
    """A number of an evaluated metric and whether lower is better."""

    metric: str  # registered metric name
    key: str  # the number in the metric's result
    direction: Literal["min", "max"]

    @property
    def label(self) -> str:
        return self.key if self.key == self.metric or self.key == MAIN.get(self.metric) else f"{self.metric}.{self.key}"

    def better(self, a: float, b: Optional[float]) -> bool:
        """Whether a is better than b (anything is better than None)."""
        return b is None or (a < b if self.direction == "min" else a > b)

    def value(self, results: dict) -> Optional[float]:
        """This objective's number in {metric: {number: value}}, or None when it is missing."""
        v = results.get(self.metric, {}).get(self.key)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    def text(self) -> str:
        return f"{self.direction}:{self.metric}.{self.key}"


def parse_objective(text: str, what: str = "best") -> Objective:
    """``fid`` / ``recall`` / ``prdc.recall`` / ``min:METRIC.NUMBER`` -> Objective (metric names are checked
    against the registry where the settings are built)."""
    raw = text.strip()
    direction: Optional[str] = None
    if raw[:4] in ("min:", "max:"):
        direction, raw = raw[:3], raw[4:]
    if not raw:
        raise ConfigError(f"invalid value {text!r} for '{what}': name a metric, e.g. {what}=fid")
    metric, dot, key = raw.partition(".")
    if not dot:
        if raw in MAIN or (raw in NUMBERS and NUMBERS[raw][0] == raw):
            metric, key = raw, MAIN.get(raw, raw)
        elif raw in NUMBERS:
            metric, key = NUMBERS[raw][0], raw
        else:
            metric, key = raw, raw
    if direction is None:
        if key not in NUMBERS:
            raise ConfigError(f"invalid value {text!r} for '{what}': genlab does not know whether {key!r} is better "
                              f"low or high; write {what}=min:{metric}.{key} or {what}=max:{metric}.{key}")
        direction = NUMBERS[key][1]
    return Objective(metric, key, direction)  # type: ignore[arg-type]


__all__ = ["Objective", "parse_objective", "NUMBERS", "MAIN"]

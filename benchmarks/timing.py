"""The benchmarks' shared clock: seconds per call of a function, over at least a given time."""

from __future__ import annotations

import time
from typing import Callable


def seconds_per_call(fn: Callable[[], object], seconds: float, clock: Callable[[], float] = time.perf_counter) -> float:
    """Seconds per call of fn, over at least `seconds` of calls by `clock` (after one untimed call)."""
    fn()
    t0, n = clock(), 0
    while clock() - t0 < seconds:
        fn()
        n += 1
    return (clock() - t0) / n

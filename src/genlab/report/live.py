"""The run page during training: the trainer calls ``refresh_run_report`` at every epoch end and when the
run stops, so that an open browser tab that reloads shows the run's progress.

Writing the page must neither slow training down nor stop it: between epochs the page is rewritten at most
every ``MIN_INTERVAL`` seconds and at most ``1 / COST_SHARE`` of the time (a page that took 0.1 s to write
waits 2 s); the last page, when the run finishes, fails or is interrupted, is always written. A page that
cannot be written is a warning on stderr (once per run), never a lost run.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

MIN_INTERVAL = 2.0  # seconds between two pages of one run during training
COST_SHARE = 20  # wait at least this many times as long as the last page took to write

_last: dict[str, tuple[float, float]] = {}  # run folder -> (when its page was last written, seconds it took)
_warned: set[str] = set()


def refresh_run_report(path: str | Path, final: bool = False) -> None:
    """Rewrite DIR/report.html unless it was rewritten a moment ago (`final`: always)."""
    from .runpage import write_run_report

    key = str(Path(path).resolve())
    start = time.monotonic()
    last, cost = _last.get(key, (float("-inf"), 0.0))
    if not final and start - last < max(MIN_INTERVAL, COST_SHARE * cost):
        return
    try:
        write_run_report(path)
    except Exception as e:  # noqa: BLE001  (the page is a view of the run: training goes on without it)
        if key not in _warned:
            _warned.add(key)
            print(f"genlab: warning: could not write {Path(path) / 'report.html'} ({type(e).__name__}: {e}); "
                  f"training goes on; write it later with `genlab report {path}`", file=sys.stderr)
    end = time.monotonic()
    _last[key] = (end, end - start)

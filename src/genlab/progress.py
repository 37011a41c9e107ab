"""Feedback during long work: a progress bar on a terminal, plain lines in a log.

Under ``nohup``, ``tee`` or a cluster's job log a progress bar is either invisible or a wall of carriage
returns, so where stderr is not a terminal ``Progress`` prints one plain line when the work starts, one every
``GENLAB_PROGRESS_EVERY`` seconds (default 30) and one at the end:

    vae-digits: step 1,200/4,000 (30%), epoch 90.0, vae_loss 31.2, 41.5 step/s, ETA 1m07s

``announce`` says what long implicit work is about to happen (a line before it) and how long it took (a line
after it), on a terminal too: "training the evaluator classifier for digits once ..., took 1m12s".
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from typing import Iterator, Optional, TextIO

EVERY_ENV = "GENLAB_PROGRESS_EVERY"
DEFAULT_EVERY = 30.0  # seconds between plain progress lines


def every_seconds() -> float:
    """Seconds between plain progress lines: $GENLAB_PROGRESS_EVERY, default 30."""
    text = os.environ.get(EVERY_ENV, "")
    try:
        value = float(text) if text else DEFAULT_EVERY
    except ValueError:
        value = DEFAULT_EVERY
    return value if value > 0 else DEFAULT_EVERY


def duration(seconds: float) -> str:
    """A duration as a person reads it: 42 s, 3m05s, 2h04m."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes, s = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{s:02d}s"
    hours, m = divmod(minutes, 60)
    return f"{hours}h{m:02d}m"


def _number(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


class Progress:
    """Progress of `total` units of work (steps, images ...) called `desc`.

    `show`: None or True: a bar where stderr is a terminal, plain lines elsewhere; False: silent.
    ``update(n)`` counts n more units, ``note(**values)`` remembers named values (losses, the epoch) for the
    next line; ``close()`` prints the last line."""

    def __init__(self, total: int, desc: str, unit: str = "step", initial: int = 0, show: Optional[bool] = None,
                 every: Optional[float] = None, stream: Optional[TextIO] = None):
        self.total, self.desc, self.unit = total, desc, unit
        self.done = self.start = initial
        self.stream = stream or sys.stderr
        self.every = every_seconds() if every is None else every
        self.values: dict = {}
        self.t0 = self.last = time.monotonic()
        self.closed = False
        self.bar = None
        self.lines = False
        if show is False:
            return
        if self.stream.isatty():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=initial, unit=unit, dynamic_ncols=True, desc=desc, file=self.stream)
        else:
            self.lines = True
            start = f"from {unit} {initial:,} " if initial else ""
            self._print(f"{desc}: {total - initial:,} {unit}s to go {start}(a line every {self.every:g} s; "
                        f"{EVERY_ENV}=SECONDS changes it)")

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.lines and time.monotonic() - self.last >= self.every:
            self._print(self.line())

    def note(self, **values) -> None:
        """Named values shown from now on (the latest of each)."""
        self.values.update(values)
        if self.bar is not None:
            self.bar.set_postfix({k: _number(v) for k, v in self.values.items()}, refresh=False)

    def line(self) -> str:
        """Where the work stands: count, share, the remembered values, rate and time left."""
        elapsed = time.monotonic() - self.t0
        rate = (self.done - self.start) / elapsed if elapsed > 0 else 0.0
        parts = [f"{self.unit} {self.done:,}/{self.total:,} ({100 * self.done / max(1, self.total):.0f}%)"]
        parts += [f"{k} {_number(v)}" for k, v in self.values.items()]
        parts.append(f"{rate:.3g} {self.unit}/s")
        if self.done < self.total and rate > 0:
            parts.append(f"ETA {duration((self.total - self.done) / rate)}")
        else:
            parts.append(f"{duration(elapsed)} in all")
        return f"{self.desc}: " + ", ".join(parts)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.bar is not None:
            self.bar.close()
        elif self.lines:
            self._print(self.line())

    def _print(self, text: str) -> None:
        self.last = time.monotonic()
        print(text, file=self.stream, flush=True)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextmanager
def announce(what: str, show: Optional[bool] = None, stream: Optional[TextIO] = None) -> Iterator[None]:
    """A line saying what long work starts (`what`), and one saying how long it took when it ends."""
    stream = stream or sys.stderr
    if show is False:
        yield
        return
    print(f"{what} ...", file=stream, flush=True)
    t0 = time.monotonic()
    yield
    print(f"  done in {duration(time.monotonic() - t0)}", file=stream, flush=True)


__all__ = ["Progress", "announce", "duration", "every_seconds", "EVERY_ENV"]

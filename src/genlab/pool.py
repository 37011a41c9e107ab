"""Runs trained in fresh processes, several at a time: what sweeps (``sweep.trials``) and reproductions
(``reproduce.map_jobs``) share.

Each call runs in a spawned process of its own (one per call: nothing leaks from one run to the next), and
results come back as the calls finish. A stop reaches the runs: SIGTERM (``kill``, a job scheduler) is turned
into the same clean stop as Ctrl-C, and on any stop or error the runs still going get SIGTERM, which the
trainer turns into a checkpoint and an exit; so the same command run again resumes them, rather than finding
their folders locked by orphaned processes that go on training.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator


def in_processes(calls: list[tuple[Callable, tuple]], workers: int, what: str = "the command") -> Iterator[Any]:
    """fn(*args) for each (fn, args) of `calls`, at most `workers` at once, each in a fresh spawned process;
    yields the results as they finish. The first exception raised by a call is raised here (the runs already
    finished are kept); `what` names the command in the message of a SIGTERM stop."""
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), max_tasks_per_child=1)
    finished = False
    try:
        with stopped_by_sigterm(what):
            pending = {pool.submit(fn, *args) for fn, args in calls}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
            finished = True
    finally:
        if not finished:  # stopped or failed: the running calls save a checkpoint and stop (their locks go too)
            for process in list((pool._processes or {}).values()):
                if process.is_alive():
                    process.terminate()  # SIGTERM, which the trainer turns into a checkpoint and a clean exit
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def stopped_by_sigterm(what: str):
    """SIGTERM stops `what` as Ctrl-C does (``trainer.Interrupted``, exit code 143), rather than killing this
    process alone and leaving the processes it started running."""
    import signal
    import threading

    from .trainer import Interrupted

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Interrupted(f"{what} was stopped by {signal.Signals(signum).name}; the runs that were going saved a "
                          f"checkpoint: run the same command again to finish", 128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

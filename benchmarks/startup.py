"""How long `genlab` takes to answer the commands that only list or explain, beside Python's own start.

    python benchmarks/startup.py [--runs 5] [--against REV]

One line each: `python -c pass`, `python -c "import torch"`, then each command's median wall time over
`--runs` fresh processes (`python -m genlab ...`). `genlab models` and `genlab metrics` are stored in the
cache after their first call (``src/genlab/listing.py``): their first call is timed with an empty cache
folder each time, then the stored answer. With `--against REV`, the same commands at git revision REV (a
temporary worktree) are timed in the same runs, alternating with this checkout, in a column of their own.
Wall time counts everything else the machine is doing: compare the columns of one run, not runs of a busy
machine with each other.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS = [["--help"], ["train", "--help"], ["reproduce", "--help"], ["explain", "gan-1d", "--help"],
            ["models"], ["models", "vae"], ["metrics"], ["metrics", "fid"], ["datasets"], ["datasets", "mnist"]]
STORED = {"models", "metrics"}  # answered from the cache after their first call


def seconds(words: list[str], env: dict) -> float | None:
    """The wall time of one process running `python WORDS...`; None when it fails (a command that an older
    revision given to --against does not have)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *words], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started if done.returncode == 0 else None


def median_text(times: list[float | None]) -> str:
    return "     (fails)" if None in times else f"{statistics.median(times):>12.2f} s"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=5, help="processes per figure (the median is printed)")
    p.add_argument("--against", metavar="REV", help="also time git revision REV, in a column of its own")
    args = p.parse_args()
    here = Path(__file__).resolve().parents[1]
    tmp = Path(tempfile.mkdtemp(prefix="genlab-startup-"))
    trees = {"this checkout": here / "src"}
    if args.against:
        subprocess.run(["git", "-C", str(here), "worktree", "add", "--detach", str(tmp / "tree"), args.against],
                       check=True, capture_output=True)
        trees[args.against] = tmp / "tree" / "src"
    try:
        print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs shared with whatever else runs; "
              f"median wall time of {args.runs} processes")
        for words in (["-c", "pass"], ["-c", "import torch"]):
            figure = statistics.median(seconds(words, dict(os.environ)) for _ in range(args.runs))
            print(f"{shlex.join(['python', *words]):<40} {figure:>12.2f} s")
        print(f"{'':<40} " + " ".join(f"{t:>14}" for t in trees))
        for command in COMMANDS:
            rows = [(" (first call)", True), (" (stored)", False)] if command[0] in STORED else [("", False)]
            for note, fresh in rows:
                times: dict[str, list[float]] = {t: [] for t in trees}
                for i in range(args.runs):
                    for t, (label, src) in enumerate(trees.items()):  # alternating: a busy moment slows both
                        cache = tmp / f"cache-{t}" / (f"{' '.join(command)} {i}" if fresh else "stored")
                        env = {**os.environ, "PYTHONPATH": str(src), "GENLAB_CACHE": str(cache)}
                        if not fresh and i == 0:
                            seconds(["-m", "genlab", *command], env)  # stores the listing
                        times[label].append(seconds(["-m", "genlab", *command], env))
                figures = " ".join(median_text(v) for v in times.values())
                print(f"{'genlab ' + ' '.join(command) + note:<40} {figures}", flush=True)
    finally:
        if args.against:
            subprocess.run(["git", "-C", str(here), "worktree", "remove", "--force", str(tmp / "tree")],
                           capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)  # this script's own cache folders


if __name__ == "__main__":
    main()

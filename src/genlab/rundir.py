"""Run directories: the interface between train, resume, sample, evaluate and report.

    DIR/.genlab-run      marker: genlab's run-format version (only a folder holding it may be --overwritten)
    DIR/.lock            the process training or resuming the run (PID, command, start), while it runs
    DIR/config.json      fully resolved configs, model name, data info and fingerprint, seed, resume history
    DIR/metrics.jsonl    one JSON object per logging step
    DIR/status.json      running / finished / interrupted / failed, with the step and a message
    DIR/evaluation.json  the latest result of each metric computed by `genlab evaluate`
    DIR/eval-cache/      every evaluation result (METRIC-KEY.json), keyed by what changes the number
    DIR/samples/         fixed-noise sample grids and other pictures (PNG), curves.png
    DIR/checkpoints/step-XXXXXXXX/{model.safetensors,state.pt}
    DIR/report.html, DIR/tensorboard/   written by `genlab report`

Every file is written atomically (a temporary file in the same folder, then a rename), with the
permissions the user's umask gives, and a checkpoint folder appears under its final name only once both
of its files are complete. One process at a time may write a run (``RunDir.acquire``); a run whose
status says ``running`` while no live process holds its lock is reported as ``crashed``. Every file is
read through ``runfiles``, which turns a damaged file into a one-line error naming the file and field.
"""

from __future__ import annotations

import datetime as _dt
import errno
import fcntl
import json
import os
import re
import secrets
import shutil
import socket
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional

from . import __version__
from .errors import RunDirError

RUN_FORMAT = 1  # the layout version written into the marker; bump when the layout changes meaning
MARKER = ".genlab-run"
LOCK = ".lock"
CONFIG = "config.json"
METRICS = "metrics.jsonl"
STATUS = "status.json"
EVALUATION = "evaluation.json"
EVAL_CACHE = "eval-cache"
SAMPLES, CHECKPOINTS = "samples", "checkpoints"
REPORT, TENSORBOARD = "report.html", "tensorboard"  # written by `genlab report`
STATES = ("running", "finished", "interrupted", "failed")  # what status.json may say
WEIGHTS, STATE = "model.safetensors", "state.pt"  # the two files of a checkpoint folder
BEST = "best"  # checkpoints/best: the best evaluation's checkpoint (genlab.live_eval)
BEST_INFO = "best.json"  # in checkpoints/best: its step, metric and value
_STEP_DIR = re.compile(r"^step-(\d{8,})$")


# ----------------------------------------------------------------------------------------------------
# writing files: atomic, umask-respecting, errors that name the path


def named_os_error(e: OSError, path: Path | str) -> OSError:
    """`e` with `path` as its file name (a failed write() names no file); the CLI prints path and cause."""
    return OSError(e.errno, e.strerror or str(e), str(path))


def _temp_beside(path: Path) -> Path:
    return path.parent / f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp"


def is_leftover(name: str) -> bool:
    """A temporary file or folder of a write that was cut off (by a kill, a full disk ...)."""
    return name.startswith(".tmp-") or (name.startswith(".") and name.endswith(".tmp"))


@contextmanager
def atomic_path(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` only if the block succeeds.

    The temporary file is created with mode 0666 minus the umask (as `open` would create `path`), so the
    result can be shared like any other file. OSErrors name `path`."""
    path = Path(path)
    tmp = _temp_beside(path)
    try:
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    except OSError as e:
        raise named_os_error(e, path) from None
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise named_os_error(e, path) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def make_temp_dir(parent: Path) -> Path:
    """A new ``.tmp-*`` folder in `parent`, mode 0777 minus the umask."""
    tmp = Path(parent) / f".tmp-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        os.mkdir(tmp, 0o777)
    except OSError as e:
        raise named_os_error(e, tmp) from None
    return tmp


def write_bytes(path: Path | str, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(path: Path | str, obj: Any) -> None:
    write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode())


def read_json(path: Path | str) -> Any:
    """Any JSON file (damage named); run files go through ``runfiles``, which also checks their fields."""
    from .runfiles import load_json

    return load_json(Path(path))


# ----------------------------------------------------------------------------------------------------
# the lock: one writer per run directory


def _process_start(pid: int) -> Optional[int]:
    """The start time of process `pid` (clock ticks since boot; Linux), to tell it from a later one with
    the same PID; None where /proc does not say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _alive(holder: dict) -> bool:
    """Whether the process described by a lock file's contents still runs (assumed so on another host)."""
    pid = holder.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    if holder.get("host") != socket.gethostname():
        return True  # cannot look at another machine's processes
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    start = holder.get("start")
    return start is None or _process_start(pid) in (None, start)


def describe_holder(holder: Optional[dict]) -> str:
    if not holder:
        return "another process"
    where = "" if holder.get("host") == socket.gethostname() else f" on {holder.get('host')}"
    return f"process {holder.get('pid')}{where} (`{holder.get('command', '?')}`, since {holder.get('started', '?')})"


class RunDir:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock_fd: Optional[int] = None
        self.extra_status: dict[str, Any] = {}  # written into status.json beside the state (best, evaluation)

    # paths
    @property
    def config_path(self) -> Path:
        return self.path / CONFIG

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS

    @property
    def status_path(self) -> Path:
        return self.path / STATUS

    @property
    def samples(self) -> Path:
        return self.path / SAMPLES

    @property
    def checkpoints(self) -> Path:
        return self.path / CHECKPOINTS

    # ------------------------------------------------------------------------------------------------
    # creation and opening

    @staticmethod
    def check_new(path: str | Path, overwrite: bool = False) -> None:
        """Raise if `path` cannot become a new run directory; deletes nothing."""
        p = Path(path)
        if p.exists() and not p.is_dir():
            raise RunDirError(f"{p} exists and is not a directory; choose another --out")
        if p.is_dir() and _entries(p):
            if not overwrite:
                raise RunDirError(
                    f"run directory {p} already exists and is not empty; choose another --out, "
                    f"resume it with `genlab resume {p}`, or pass --overwrite to replace it"
                )
            _check_deletable(p)

    @classmethod
    def create(cls, path: str | Path, overwrite: bool = False, command: str = "") -> "RunDir":
        """A new, empty run directory with its marker, locked by this process (release it, or use `with`).

        With `overwrite`, an existing run directory is emptied first, but only one genlab made (marker and
        layout) that no live process is writing."""
        cls.check_new(path, overwrite)
        p = Path(path)
        try:
            p.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RunDirError(f"cannot create the run directory {p}: {e.strerror or e}") from None
        run = cls(p)
        run.acquire(command)
        try:
            if [e for e in _entries(p) if e.name != LOCK]:  # again under the lock: another process was quicker?
                _check_deletable(p)
                run._empty()
            write_json(p / MARKER, {"run_format": RUN_FORMAT, "genlab_version": __version__})
            run.samples.mkdir()
            run.checkpoints.mkdir()
        except BaseException:
            run.release()
            raise
        return run

    def _empty(self) -> None:
        """Delete what a previous run left (the caller holds the lock and checked the layout); the marker
        goes last, so that a cut-off overwrite can be overwritten again."""
        for entry in sorted(_entries(self.path), key=lambda e: e.name == MARKER):
            if entry.name == LOCK:
                continue
            try:
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()
            except OSError as e:
                raise RunDirError(f"cannot delete {entry} to overwrite the run: {e.strerror or e}") from None

    @classmethod
    def open(cls, path: str | Path) -> "RunDir":
        p = Path(path)
        if not p.is_dir():
            raise RunDirError(f"run directory {p} does not exist" if not p.exists() else
                              f"{p} is not a directory, so not a genlab run directory")
        if not (p / CONFIG).exists():
            raise RunDirError(f"{p} is not a genlab run directory (it has no {CONFIG})")
        return cls(p)

    # ------------------------------------------------------------------------------------------------
    # the lock

    @property
    def lock_path(self) -> Path:
        return self.path / LOCK

    def acquire(self, command: str = "") -> "RunDir":
        """Take the run's lock for this process, or raise naming the live process that holds it. A lock left
        by a dead process is taken over (the kernel frees a dead process's lock)."""
        for _ in range(5):
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError as e:
                raise RunDirError(f"cannot write to the run directory {self.path}: {e.strerror or e}; "
                                  f"training and resuming need a writable folder") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                os.close(fd)
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise named_os_error(e, self.lock_path) from None
                raise RunDirError(f"{self.path} is in use by {describe_holder(self.holder())}; wait for it to "
                                  f"finish, or stop it first") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.lock_path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # released and deleted meanwhile: lock the new file instead
                os.close(fd)
                continue
            me = {"pid": os.getpid(), "start": _process_start(os.getpid()), "host": socket.gethostname(),
                  "command": command or " ".join(["genlab", *sys.argv[1:]])[:300],
                  "started": _dt.datetime.now().isoformat(timespec="seconds")}
            try:
                os.ftruncate(fd, 0)
                os.write(fd, (json.dumps(me) + "\n").encode())
            except OSError as e:
                os.close(fd)
                raise named_os_error(e, self.lock_path) from None
            self._lock_fd = fd
            return self
        raise RunDirError(f"could not lock {self.path}: its lock file keeps changing; is another genlab starting?")

    def release(self) -> None:
        if self._lock_fd is None:
            return
        self.lock_path.unlink(missing_ok=True)  # while still holding it: the next writer locks a new file
        os.close(self._lock_fd)
        self._lock_fd = None

    def __enter__(self) -> "RunDir":
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def holder(self) -> Optional[dict]:
        """What the lock file says about its holder (None when there is no lock file or it is empty)."""
        from .runfiles import read_file

        try:
            found = json.loads(read_file(self.lock_path) or b"null")  # a FIFO in its place is refused, not read
        except (RunDirError, ValueError):
            return None
        return found if isinstance(found, dict) else None

    def remove_leftovers(self) -> list[Path]:
        """Delete the temporary files and folders of writes that were cut off; only under the lock."""
        assert self._lock_fd is not None, "remove_leftovers needs the run's lock"
        removed = []
        for folder in (self.path, self.samples, self.checkpoints):
            if not folder.is_dir():
                continue
            for entry in folder.iterdir():
                if is_leftover(entry.name):
                    if entry.is_dir() and not entry.is_symlink():
                        shutil.rmtree(entry, ignore_errors=True)
                    else:
                        entry.unlink(missing_ok=True)
                    removed.append(entry)
        return removed

    # ------------------------------------------------------------------------------------------------
    # config and status

    def read_config(self) -> dict:
        from .runfiles import read_config

        return read_config(self.config_path)

    def write_config(self, cfg: dict) -> None:
        write_json(self.config_path, cfg)

    def write_status(self, state: str, step: int, message: str = "") -> None:
        assert state in STATES, state
        write_json(self.status_path, {"state": state, "step": step, "message": message, **self.extra_status})

    def read_status(self) -> dict:
        """status.json as written ({} when there is none); see `status` for what is true now."""
        from .runfiles import read_status

        return read_status(self.status_path) if self.status_path.exists() else {}

    def status(self) -> dict:
        """The run's state as it is now: status.json, except that `running` without a live process holding
        the lock is reported as `crashed`, at the last step the run logged or saved."""
        st = self.read_status()
        if st.get("state") != "running":
            return st
        ckpt = latest_checkpoint(self.checkpoints)
        reached = max([st["step"], step_of(ckpt) if ckpt else 0] + [r["step"] for r in self.read_metrics()[-1:]])
        holder = self.holder()
        if holder and _alive(holder):
            return {**st, "step": reached, "pid": holder.get("pid")}
        since = f"checkpoint {ckpt.name}" if ckpt else "the start (no checkpoint had been saved)"
        who = f"process {holder['pid']}" if holder and "pid" in holder else "the process training it"
        return {"state": "crashed", "step": reached,
                "message": f"{who} stopped without saying why (killed, out of memory, or the machine went down); "
                           f"`genlab resume {self.path}` continues from {since}"}

    # ------------------------------------------------------------------------------------------------
    # metrics

    def append_metrics(self, row: dict) -> None:
        line = json.dumps(row) + "\n"
        try:
            with open(self.metrics_path, "a") as f:
                f.write(line)
        except OSError as e:
            raise named_os_error(e, self.metrics_path) from None

    def read_metrics(self) -> list[dict]:
        from .runfiles import read_metrics

        return read_metrics(self.metrics_path) if self.metrics_path.exists() else []

    def truncate_metrics(self, step: int) -> None:
        """Keep only the rows up to `step` (the step a resume starts from; 0: none): the rows after it
        were logged after the checkpoint, and training them again logs them again. A step logged twice (by
        an older genlab, which did not trim) keeps its last row; eval rows (genlab.live_eval) are kept per
        step and metric, in the order they were logged."""
        rows = {(r["step"], r.get("metric")): r for r in self.read_metrics() if r["step"] <= step}
        with atomic_path(self.metrics_path) as tmp:
            tmp.write_text("".join(json.dumps(rows[k]) + "\n" for k in sorted(rows, key=lambda k: k[0])))


# ----------------------------------------------------------------------------------------------------
# checkpoint folders (written and read by ``checkpoint``)


def step_dir(folder: Path, step: int) -> Path:
    """The checkpoint folder of `step` in `folder` (``step-00000012``)."""
    return Path(folder) / f"step-{step:08d}"


def step_of(path: Path) -> Optional[int]:
    """The step of a checkpoint folder's name (``step-00000012`` -> 12), or None for other names."""
    m = _STEP_DIR.match(Path(path).name)
    return int(m.group(1)) if m else None


def list_checkpoints(folder: Path) -> list[Path]:
    """Checkpoint folders, oldest first (complete unless damaged by hand: a folder appears only by a rename
    once both files are written, and loading one with a file missing says so)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(step_of(p), p) for p in folder.iterdir() if step_of(p) is not None and p.is_dir()]
    return [p for _, p in sorted(found)]


def latest_checkpoint(folder: Path) -> Optional[Path]:
    found = list_checkpoints(folder)
    return found[-1] if found else None


# ----------------------------------------------------------------------------------------------------
# what --overwrite may delete


def _entries(p: Path) -> list[Path]:
    try:
        return sorted(p.iterdir())
    except OSError as e:
        raise RunDirError(f"cannot list {p}: {e.strerror or e}") from None


def _unexpected(p: Path) -> list[str]:
    """Entries of `p` that are not part of a run directory's layout (relative names)."""
    odd = []
    for e in _entries(p):
        name = e.name
        if name in (MARKER, LOCK, CONFIG, METRICS, STATUS, EVALUATION, REPORT) or is_leftover(name):
            if not e.is_file() or e.is_symlink():
                odd.append(name)
        elif name == TENSORBOARD or name.startswith(f".{TENSORBOARD}-"):  # `genlab report --tensorboard`'s
            if not e.is_dir() or e.is_symlink():
                odd.append(name)
        elif name in (SAMPLES, EVAL_CACHE) and e.is_dir() and not e.is_symlink():
            kind = ".png" if name == SAMPLES else ".json"
            odd += [f"{name}/{s.name}" for s in _entries(e)
                    if not ((s.suffix == kind or is_leftover(s.name)) and s.is_file() and not s.is_symlink())]
        elif name == CHECKPOINTS and e.is_dir() and not e.is_symlink():
            for c in _entries(e):
                if not ((step_of(c) is not None or c.name == BEST or is_leftover(c.name)) and c.is_dir()
                        and not c.is_symlink()):
                    odd.append(f"{name}/{c.name}")
                    continue
                odd += [f"{name}/{c.name}/{f.name}" for f in _entries(c)
                        if f.name not in (WEIGHTS, STATE, BEST_INFO) and not is_leftover(f.name)]
        else:
            odd.append(name + ("/" if e.is_dir() else ""))
    return odd


def _listing(names: list[str], most: int = 6) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _check_deletable(p: Path) -> None:
    """Raise unless `p` is a run directory genlab made (its marker) holding nothing but genlab's files."""
    if not (p / MARKER).is_file():
        raise RunDirError(f"{p} is not a genlab run directory (it has no {MARKER} marker) and holds "
                          f"{_listing([e.name + ('/' if e.is_dir() else '') for e in _entries(p)])}; "
                          f"genlab will not delete it: choose another --out")
    odd = _unexpected(p)
    if odd:
        raise RunDirError(f"{p} is a genlab run directory but also holds {_listing(odd)}, which genlab did not "
                          f"write; genlab will not delete it: move them out, or choose another --out")

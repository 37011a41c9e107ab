"""Run directories: the interface between train, resume, sample, evaluate and report.

    DIR/config.json      fully resolved configs, model name, data info, genlab version, seed
    DIR/metrics.jsonl    one JSON object per logging step
    DIR/status.json      running / finished / interrupted / failed, with the step and a message
    DIR/samples/         fixed-noise sample grids (PNG), curves.png
    DIR/checkpoints/step-XXXXXXXX/{model.safetensors,state.pt}

Every file is written atomically (a temporary file in the same folder, then a rename), and a checkpoint
folder appears under its final name only once both of its files are complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from .errors import RunDirError

CONFIG = "config.json"
METRICS = "metrics.jsonl"
STATUS = "status.json"


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it over `path` only if the block succeeds."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: Path, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2) + "\n")


def read_json(path: Path) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except json.JSONDecodeError as e:
        raise RunDirError(f"{path} is not valid JSON ({e}); the run directory is damaged") from None


class RunDir:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    # paths
    @property
    def config_path(self) -> Path:
        return self.path / CONFIG

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    # creation and opening
    @staticmethod
    def check_new(path: str | Path, overwrite: bool = False) -> None:
        """Raise if `path` cannot become a new run directory; deletes nothing."""
        p = Path(path)
        if p.exists() and not p.is_dir():
            raise RunDirError(f"{p} exists and is not a directory; choose another --out")
        if p.is_dir() and any(p.iterdir()):
            if not overwrite:
                raise RunDirError(
                    f"run directory {p} already exists and is not empty; choose another --out, "
                    f"resume it with `genlab resume {p}`, or pass --overwrite to replace it"
                )
            if not (p / CONFIG).exists():
                raise RunDirError(
                    f"{p} is not empty and is not a genlab run directory (no {CONFIG}); "
                    f"genlab will not delete it: choose another --out"
                )

    @classmethod
    def create(cls, path: str | Path, overwrite: bool = False) -> "RunDir":
        cls.check_new(path, overwrite)
        p = Path(path)
        if p.is_dir() and any(p.iterdir()):
            shutil.rmtree(p)
        p.mkdir(parents=True, exist_ok=True)
        run = cls(p)
        run.samples.mkdir()
        run.checkpoints.mkdir()
        return run

    @classmethod
    def open(cls, path: str | Path) -> "RunDir":
        p = Path(path)
        if not p.is_dir():
            raise RunDirError(f"run directory {p} does not exist")
        if not (p / CONFIG).exists():
            raise RunDirError(f"{p} is not a genlab run directory (it has no {CONFIG})")
        return cls(p)

    def read_config(self) -> dict:
        return read_json(self.config_path)

    def write_config(self, cfg: dict) -> None:
        write_json(self.config_path, cfg)

    def write_status(self, state: str, step: int, message: str = "") -> None:
        write_json(self.path / STATUS, {"state": state, "step": step, "message": message})

    def read_status(self) -> dict:
        p = self.path / STATUS
        return read_json(p) if p.exists() else {}

    # metrics
    def append_metrics(self, row: dict) -> None:
        with open(self.metrics_path, "a") as f:
            f.write(json.dumps(row) + "\n")

    def read_metrics(self) -> list[dict]:
        if not self.metrics_path.exists():
            return []
        rows = []
        for line in self.metrics_path.read_text().splitlines():
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    continue  # a line cut by a crash mid-write
        return rows

    def truncate_metrics(self, step: int) -> None:
        """Drop rows logged after `step` (written after the checkpoint a resume starts from)."""
        rows = [r for r in self.read_metrics() if r.get("step", 0) <= step]
        with atomic_path(self.metrics_path) as tmp:
            tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))

"""genlab from Python: ``genlab.train`` and ``genlab.open_run`` give a ``Run``, a run directory as an object.

    import genlab
    run = genlab.train("vae", dataset="digits", epochs=2, latent_dim=8)   # any config key, as a typed value
    x = run.sample(64)                                                     # numpy (64, 1, 8, 8) in [0, 1]
    run.evaluate(["fid"])                                                  # {"fid": {...}}, stored in the run
    same = genlab.open_run(run.path)   # (genlab.load is the module that reads run directories back)

The run directory stays the interface: a ``Run`` reads and writes only its folder, as the command line does
(``genlab.api`` holds the functions both use).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np


@dataclass(frozen=True)
class Run:
    """A run directory: its settings, curves, samples and evaluations."""

    path: Path

    @property
    def config(self) -> dict:
        """config.json: the model, its settings and what each "auto" became (checked as it is read)."""
        from .api import read_run

        return read_run(self.path)[1]

    @property
    def model(self) -> str:
        return self.config["model"]

    @property
    def metrics(self) -> list[dict]:
        """The logged training rows (metrics.jsonl): step, epoch, time and the losses."""
        from .rundir import RunDir

        return RunDir.open(self.path).read_metrics()

    def status(self) -> str:
        """finished, running, interrupted, failed or crashed."""
        from .rundir import RunDir

        return RunDir.open(self.path).status().get("state", "not started")

    def sample(self, n: int = 64, seed: int = 0, label: Optional[int] = None, device: str = "cpu") -> np.ndarray:
        """n samples: images float32 (N, C, H, W) in [0, 1], points (N, D); `label`: conditional models' class."""
        from .api import sample

        return sample(self.path, n, seed=seed, device=device, label=label)

    def evaluate(self, metrics: list[str] | str, **options: Any) -> dict:
        """Compute metrics (`genlab metrics` lists them; options as `genlab evaluate`'s, e.g. n=1000,
        features="raw"), store them in the run's evaluation.json and return them."""
        from . import metrics as _metrics  # noqa: F401  (registers every built-in metric)
        from .evaluate import evaluate

        names = [metrics] if isinstance(metrics, str) else list(metrics)
        return evaluate(self.path, names, {"seed": 0, "device": "cpu", **options})

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"


def train(model: str, dataset: str = "digits", out: Optional[str | Path] = None, overwrite: bool = False,
          progress: Optional[bool] = None, **settings: Any) -> Run:
    """Train `model` on `dataset` into a new run directory and return it.

    `settings`: any config key of the model, the training or the data (`genlab models MODEL` lists them) as
    a typed value: ``epochs=2, latent_dim=8, hidden=(256, 128), likelihood="gaussian"``; ``preset="..."``
    picks a named protocol. `out`: the run directory (default: runs/MODEL-DATASET, numbered when taken; an
    existing one is only replaced with `overwrite`)."""
    from .api import make_configs, train as train_run

    if "steps" in settings and "epochs" not in settings:
        settings["epochs"] = 0  # steps alone set the length, as `--steps` does
    cfgs = make_configs(model, dataset, settings)
    path = Path(out) if out is not None else _free_folder(Path("runs") / f"{model}-{dataset}")
    return Run(train_run(model, path, cfgs, overwrite=overwrite, progress=progress).path)


def open_run(path: str | Path) -> Run:
    """The run in directory `path` (its config.json is checked now: a folder that is no run is an error)."""
    from .api import read_run

    read_run(path)
    return Run(Path(path))


def _free_folder(base: Path) -> Path:
    """`base`, or `base-2`, `base-3` ... : the first that does not exist yet."""
    if not base.exists():
        return base
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    for i in range(2, 10_000):
        candidate = base.with_name(f"{base.name}-{i}")
        if not candidate.exists():
            return candidate
    return base.with_name(f"{base.name}-{stamp}")


__all__ = ["Run", "train", "open_run"]

"""`genlab report DIR --tensorboard`: a run's curves and sample grids as TensorBoard event files, for users
who live there (``tensorboard --logdir DIR/tensorboard``). Needs the optional extra:
``pip install 'genlab[tensorboard]'``.

Written from the run directory alone: every logged term as ``train/TERM`` at its step, eval rows as
``eval/METRIC/KEY``, the stored evaluations as ``evaluation/METRIC/KEY`` at the last step, the sample grid of
every epoch as the image ``samples`` at the step that epoch ended (interpolated from metrics.jsonl), the
final grid as ``samples/final``, and the resolved config as text. The folder is written whole into a
temporary folder and then put in place, so a reader never sees half of it and a rewrite leaves no stale events.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .read import metric_rows, read_run

FOLDER = "tensorboard"


def _writer_class():
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise ConfigError("--tensorboard needs TensorBoard, an optional extra: pip install 'genlab[tensorboard]'") \
            from None
    return SummaryWriter


def _rgb(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))  # (H, W, 3) uint8


def epoch_steps(terms: dict) -> tuple[list[float], list[float]]:
    """(epochs, steps) of the logged rows, to place an epoch's grid at the step where that epoch ended."""
    rows = sorted({(e, s) for series in terms.values() for s, e in zip(series["step"], series["epoch"]) if e == e})
    return [e for e, _ in rows], [s for _, s in rows]


def write_tensorboard(path: str | Path) -> Path:
    """Write DIR/tensorboard/ from the run directory `path`; returns the folder."""
    SummaryWriter = _writer_class()
    view = read_run(path)
    final = view.path / FOLDER
    tmp = Path(tempfile.mkdtemp(prefix=f".{FOLDER}-", dir=view.path))
    try:
        writer = SummaryWriter(log_dir=str(tmp))
        last = 0
        for term, series in view.terms.items():
            for step, y in zip(series["step"], series["y"]):
                writer.add_scalar(f"train/{term}", y, int(step))
                last = max(last, int(step))
        for metric, keys in view.evals.items():
            for key, series in keys.items():
                for step, y in zip(series["step"], series["y"]):
                    writer.add_scalar(f"eval/{metric}/{key}", y, int(step))
        last = int(view.status.get("step") or last)
        epochs, steps = epoch_steps(view.terms)
        for epoch, png in view.epochs:
            step = int(round(np.interp(epoch, epochs, steps))) if epochs else epoch
            writer.add_image("samples", _rgb(png), step, dataformats="HWC")
        if view.final:
            writer.add_image("samples/final", _rgb(view.final), last, dataformats="HWC")
        for metric, entry in view.evaluation.items():
            if isinstance(entry, dict):
                for row in metric_rows(entry):
                    writer.add_scalar(f"evaluation/{metric}/{row['key']}", row["value"], last)
        writer.add_text("config", "```\n" + json.dumps(view.config, indent=2) + "\n```", last)
        writer.close()
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{FOLDER}-old-", dir=view.path))
            final.rename(old / FOLDER)
        tmp.rename(final)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final

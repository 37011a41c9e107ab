"""Checkpoints that are safe to load and never half-written.

Weights go to ``model.safetensors`` (no code can hide in it); the rest of the training state (optimizer
states, step, data stream and random generator states) to ``state.pt``, made only of tensors and plain
containers so that it loads with ``torch.load(..., weights_only=True)``. Both are written into a
temporary folder that is renamed to ``step-XXXXXXXX`` once complete: a crash mid-save leaves the
previous checkpoint as it was.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Optional

import torch
from safetensors.torch import load_file, save_file

from .errors import RunDirError

WEIGHTS = "model.safetensors"
STATE = "state.pt"
_STEP_DIR = re.compile(r"^step-(\d{8,})$")


def save_checkpoint(folder: Path, step: int, model: torch.nn.Module, state: dict, keep: int = 2) -> Path:
    folder = Path(folder)
    final = folder / f"step-{step:08d}"
    if final.exists():
        return final  # the same step was saved already: the state is the same
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=folder))
    try:
        weights = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
        save_file(weights, str(tmp / WEIGHTS))
        torch.save(state, tmp / STATE)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for old in list_checkpoints(folder)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(folder: Path) -> list[Path]:
    """Complete checkpoint folders, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _STEP_DIR.match(p.name)) and p.is_dir()
             and (p / WEIGHTS).exists() and (p / STATE).exists()]
    return [p for _, p in sorted(found)]


def latest_checkpoint(folder: Path) -> Optional[Path]:
    found = list_checkpoints(folder)
    return found[-1] if found else None


def load_weights(path: Path, model: torch.nn.Module) -> None:
    try:
        weights = load_file(str(Path(path) / WEIGHTS), device=str(model_device(model)))
    except Exception as e:  # safetensors raises its own error types for damaged files
        raise RunDirError(f"cannot read {Path(path) / WEIGHTS}: {e}") from None
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if missing or unexpected:
        raise RunDirError(
            f"checkpoint {path} does not match the model (missing {sorted(missing)[:5]}, "
            f"unexpected {sorted(unexpected)[:5]}); was it made by another genlab version or config?"
        )


def load_state(path: Path) -> dict:
    try:
        return torch.load(Path(path) / STATE, map_location="cpu", weights_only=True)
    except Exception as e:  # unpickling errors (or a file that tries to run code) land here
        raise RunDirError(f"cannot read {Path(path) / STATE} as a safe checkpoint: {e}") from None


def model_device(model: torch.nn.Module) -> torch.device:
    for t in list(model.parameters()) + list(model.buffers()):
        return t.device
    return torch.device("cpu")

"""Checkpoints that are safe to load and never half-written.

Weights go to ``model.safetensors`` (no code can hide in it); the rest of the training state (optimizer
states, step, data stream and random generator states) to ``state.pt``, made only of tensors and plain
containers so that it loads with ``torch.load(..., weights_only=True)``. Both are serialized in memory,
written into a temporary ``.tmp-*`` folder (so a full disk is an OSError naming the file, not a
half-written archive) that is renamed to ``step-XXXXXXXX`` once complete: a crash mid-save leaves the
previous checkpoint as it was. Weights holding NaN or inf are never saved. Loading goes through
``runfiles``, which checks every tensor's name, shape and dtype. Where checkpoints lie in a run directory
(``step-XXXXXXXX/`` holding ``model.safetensors`` and ``state.pt``) is part of its layout, in ``rundir``.
"""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import torch
from safetensors.torch import save as safetensors_bytes

from .errors import ConfigError, NonFiniteLossError, RunDirError
from .rundir import (BEST, BEST_INFO, STATE, WEIGHTS, latest_checkpoint, list_checkpoints,  # noqa: F401  (re-exported)
                     make_temp_dir, named_os_error, step_dir, step_of, write_bytes)
from . import runfiles
from .runfiles import first_non_finite


def save_checkpoint(folder: Path, step: int, model: torch.nn.Module, state: dict) -> Path:
    """Write the checkpoint of `step` (kept as it is when it exists: the same step has the same state).
    Raises NonFiniteLossError, saving nothing, when a weight holds NaN or inf."""
    folder = Path(folder)
    final = step_dir(folder, step)
    if final.exists():
        return final
    bad = first_non_finite(model)
    if bad is not None:
        raise NonFiniteLossError(f"training stopped at step {step}: the weight '{bad}' holds NaN or inf, so no "
                                 f"checkpoint was saved for this step. Try a lower learning rate or another seed.")
    weights = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    tmp = make_temp_dir(folder)
    try:
        write_bytes(tmp / WEIGHTS, safetensors_bytes(weights))
        write_bytes(tmp / STATE, buffer.getvalue())
        os.replace(tmp, final)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise named_os_error(e, e.filename or final) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final


def prune_checkpoints(folder: Path, keep: int) -> None:
    """Delete all but the newest `keep` checkpoints."""
    for old in list_checkpoints(folder)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def find_checkpoint(folder: Path, which: str = "latest") -> Path:
    """The checkpoint folder `which` names: latest, best, or step-N."""
    folder = Path(folder)
    run = folder.parent
    if which == "latest":
        found = latest_checkpoint(folder)
        if found is None:
            raise RunDirError(f"{run} has no checkpoint yet; train or resume it first")
        return found
    if which == BEST:
        if not (folder / BEST / WEIGHTS).is_file():
            raise RunDirError(f"{run} has no best checkpoint; train it with best=METRIC and eval_every=N to keep one")
        return folder / BEST
    m = re.fullmatch(r"step-(\d+)", which)
    if m is None:
        raise ConfigError(f"invalid value {which!r} for --checkpoint: write latest, best or step-N")
    path = step_dir(folder, int(m.group(1)))
    if path not in list_checkpoints(folder):
        have = ", ".join(p.name for p in list_checkpoints(folder)) or "none"
        raise RunDirError(f"{run} has no checkpoint {which}; its checkpoints: {have}"
                          + (", best" if (folder / BEST / WEIGHTS).is_file() else ""))
    return path


def load_weights(ckpt: Path, model: torch.nn.Module) -> None:
    """The weights of the checkpoint folder `ckpt` into `model` (names, shapes, dtypes and finiteness checked)."""
    runfiles.load_weights(Path(ckpt) / WEIGHTS, model)


def load_state(ckpt: Path) -> dict:
    """The training state of the checkpoint folder `ckpt` (a dict; the trainer checks its fields)."""
    return runfiles.load_state(Path(ckpt) / STATE)

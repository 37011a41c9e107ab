"""Reading a run directory back: its config and its trained model.

What every reader of a finished run shares (``sample``, ``evaluate``, ``pictures``, reproductions and
reports); it never trains. ``genlab.api`` re-exports these functions beside train and resume.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch

from . import models as _models  # noqa: F401  (registers models)
from .checkpoint import find_checkpoint, load_weights
from .config import from_dict
from .data.base import DataInfo
from .errors import ConfigError, DataError
from .models.base import GenerativeModel
from .registry import MODELS
from .rundir import RunDir


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda was asked for, but PyTorch sees no CUDA GPU here; use --device cpu")
    return torch.device(name)


def build_model(model: str, mcfg, info: DataInfo, device: torch.device) -> GenerativeModel:
    cls = MODELS.get(model)
    if cls.conditional and info.num_classes == 1:
        raise ConfigError(f"{model} is conditioned on class labels, but every example of dataset {info.name!r} has "
                          f"the same label (one class); give it labels of at least two classes")
    try:
        net = cls(mcfg, info)
    except ValueError as e:  # a network that cannot take this data, e.g. conv nets on 7x7 images
        shape = "x".join(map(str, info.shape))
        raise ConfigError(f"model {model!r} cannot be built for {info.name!r} data of shape {shape}: {e}") from None
    return net.to(device)


def read_run(path: str | Path) -> tuple[RunDir, dict, DataInfo]:
    """A run directory and its config.json, every field checked (``runfiles.read_config``)."""
    run = RunDir.open(path)
    cfg = run.read_config()
    info = cfg["data_info"]
    return run, cfg, DataInfo(**{**info, "shape": tuple(info["shape"])})


def relocated(cfg: dict, data_path: Optional[str] = None, data_dir: Optional[str] = None) -> dict:
    """A run's config with its data found elsewhere: `data_path` replaces the npz file or image folder,
    `data_dir` the folder searched first for a dataset's files (both resolved). The data must be the same
    (callers check it against the run's fingerprint)."""
    changes = {k: str(Path(v).expanduser().resolve()) for k, v in (("path", data_path), ("data_dir", data_dir)) if v}
    if changes.get("path") and not Path(changes["path"]).exists():
        raise DataError(f"--data-path {data_path}: no such file or folder")
    if changes.get("data_dir") and not Path(changes["data_dir"]).is_dir():
        raise DataError(f"--data-dir {data_dir}: no such folder")
    if "path" in changes and not cfg["data"].get("path"):
        raise ConfigError(f"--data-path is for runs on a file or folder of your own (npz, folder); this run "
                          f"trained on {cfg['data'].get('dataset')!r}: use --data-dir for where its files are")
    if "path" not in changes and cfg["data"].get("path") and not Path(cfg["data"]["path"]).exists():
        raise DataError(f"the run's data {cfg['data']['path']} is not there any more (moved or deleted?); "
                        f"give its new place with --data-path")
    return {**cfg, "data": {**cfg["data"], **changes}} if changes else cfg


def load_trained(path: str | Path, device: str = "cpu", checkpoint: str = "latest"
                 ) -> tuple[RunDir, dict, GenerativeModel]:
    """The model of a run directory with the weights of a checkpoint (latest, best or step-N), in eval mode."""
    run, cfg, info = read_run(path)
    ckpt = find_checkpoint(run.checkpoints, checkpoint)
    model = cfg["model"]
    mcfg = from_dict(MODELS.get(model).Config, cfg["model_config"], "model_config")
    net = build_model(model, mcfg, info, resolve_device(device))
    load_weights(ckpt, net)
    net.eval()
    return run, cfg, net

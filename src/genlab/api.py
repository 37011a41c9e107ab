"""The Python API behind the CLI: train, resume and sample, reading and writing run directories."""

from __future__ import annotations

import dataclasses
import datetime as _dt
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from . import __version__
from . import data as _data  # noqa: F401  (registers datasets)
from . import models as _models  # noqa: F401  (registers models)
from .checkpoint import latest_checkpoint, load_weights
from .config import DataConfig, TrainConfig, apply_overrides, from_dict, to_dict
from .data.base import DataInfo, TensorData, load_data
from .errors import ConfigError, RunDirError
from .models.base import GenerativeModel
from .registry import DATASETS, MODELS
from .rundir import RunDir
from .trainer import Trainer


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device=cuda was asked for, but PyTorch sees no CUDA GPU here; use --device cpu")
    return torch.device(name)


def make_configs(model: str, dataset: str, overrides: Optional[dict[str, str]] = None,
                 train: Optional[dict] = None) -> dict:
    """Configs for a model and dataset, in order of precedence: command-line overrides, then `train`
    values, then the dataset's and the model's presets, then the dataclass defaults."""
    cls = MODELS.get(model)
    spec = DATASETS.get(dataset)
    overrides = dict(overrides or {})
    preset_name = overrides.pop("preset", None)
    preset: dict = {}
    if preset_name is not None:
        if preset_name not in cls.named_presets:
            choices = ", ".join(sorted(cls.named_presets)) or "none"
            raise ConfigError(f"model {model!r} has no preset {preset_name!r}; its presets: {choices}")
        preset = cls.named_presets[preset_name]
    sections = {
        "train": TrainConfig(**{**spec.train_defaults, **(train or {}), **preset.get("train", {})}),
        "data": DataConfig(**{"dataset": dataset, **preset.get("data", {})}),
        "model": dataclasses.replace(cls.Config(), **{**cls.presets.get(spec.kind, {}), **preset.get("model", {})}),
    }
    cfgs = apply_overrides(sections, overrides)
    cfgs["preset"] = preset_name
    return cfgs


def build_model(model: str, mcfg, info: DataInfo, device: torch.device) -> GenerativeModel:
    return MODELS.get(model)(mcfg, info).to(device)


def _reference_points(data: TensorData) -> Optional[np.ndarray]:
    if data.info.kind != "points":
        return None
    return data.x[:2500].cpu().numpy()


def train(model: str, out: str | Path, cfgs: dict, overwrite: bool = False, progress: Optional[bool] = None,
          pictures: bool = True) -> RunDir:
    """Train `model` with configs from `make_configs`, writing a new run directory `out`."""
    tcfg: TrainConfig = cfgs["train"]
    RunDir.check_new(out, overwrite)
    device = resolve_device(tcfg.device)
    torch.manual_seed(tcfg.seed)
    cls = MODELS.get(model)
    data = load_data(cfgs["data"], preferred_range=cls.preferred_range, device=device, seed=tcfg.seed)
    net = build_model(model, cfgs["model"], data.info, device)
    trainer = Trainer(net, data, tcfg, RunDir(out), reference=_reference_points(data))
    # bad input has been reported by now; only then is the run directory made
    run = RunDir.create(out, overwrite=overwrite)
    run.write_config({
        "genlab_version": __version__,
        "created": _dt.datetime.now().isoformat(timespec="seconds"),
        "model": model,
        "preset": cfgs.get("preset"),
        "seed": tcfg.seed,
        "device": str(device),
        "train": to_dict(tcfg),
        "data": to_dict(cfgs["data"]),
        "model_config": to_dict(cfgs["model"]),
        "data_info": dataclasses.asdict(data.info),
    })
    trainer.fit(progress=progress)
    if pictures:
        _pictures(run)
    return run


def _pictures(run: RunDir) -> None:
    """The model-specific pictures of a finished run (reconstructions, latent space ...)."""
    from .pictures import make_pictures
    from .report.live import refresh_run_report

    make_pictures(run.path)
    refresh_run_report(run.path, final=True)  # the run page with the pictures


def read_run(path: str | Path) -> tuple[RunDir, dict, DataInfo]:
    run = RunDir.open(path)
    cfg = run.read_config()
    for key in ("model", "train", "data", "model_config", "data_info"):
        if key not in cfg:
            raise RunDirError(f"{run.config_path} has no '{key}' entry; the run directory is damaged")
    info = cfg["data_info"]
    return run, cfg, DataInfo(**{**info, "shape": tuple(info["shape"])})


def resume(path: str | Path, epochs: Optional[int] = None, steps: Optional[int] = None,
           device: Optional[str] = None, progress: Optional[bool] = None) -> tuple[RunDir, int, int]:
    """Continue a run from its latest checkpoint up to `epochs` or `steps` in all (default: as configured).

    Returns (run, step resumed from, step reached).
    """
    run, cfg, _ = read_run(path)
    tdict = dict(cfg["train"])
    if epochs is not None:
        tdict.update(epochs=epochs, steps=0)
    if steps is not None:
        tdict.update(steps=steps)
    if device is not None:
        tdict["device"] = device
    tcfg = from_dict(TrainConfig, tdict, "train")
    dcfg = from_dict(DataConfig, cfg["data"], "data")
    model = cfg["model"]
    mcfg = from_dict(MODELS.get(model).Config, cfg["model_config"], "model_config")
    dev = resolve_device(tcfg.device)
    torch.manual_seed(tcfg.seed)
    cls = MODELS.get(model)
    data = load_data(dcfg, preferred_range=cls.preferred_range, device=dev, seed=tcfg.seed)
    net = build_model(model, mcfg, data.info, dev)
    trainer = Trainer(net, data, tcfg, run, reference=_reference_points(data))
    trainer.restore()
    start = trainer.step
    if start >= trainer.total:
        return run, start, start
    cfg["train"] = to_dict(tcfg)
    run.write_config(cfg)
    trainer.fit(progress=progress)
    _pictures(run)
    return run, start, trainer.step


def load_trained(path: str | Path, device: str = "cpu") -> tuple[RunDir, dict, GenerativeModel]:
    """The model of a run directory with the weights of its latest checkpoint, in eval mode."""
    run, cfg, info = read_run(path)
    ckpt = latest_checkpoint(run.checkpoints)
    if ckpt is None:
        raise RunDirError(f"{run.path} has no checkpoint yet; train or resume it first")
    model = cfg["model"]
    mcfg = from_dict(MODELS.get(model).Config, cfg["model_config"], "model_config")
    net = build_model(model, mcfg, info, resolve_device(device))
    load_weights(ckpt, net)
    net.eval()
    return run, cfg, net


@torch.no_grad()
def sample(path: str | Path, n: int, seed: int = 0, device: str = "cpu", chunk: int = 1000,
           label: Optional[int] = None) -> np.ndarray:
    """n samples in data space: images float32 (N, C, H, W) in [0, 1], points (N, D).

    `label`: for conditional models, draw every sample from this class."""
    if n < 1:
        raise ConfigError("--n must be at least 1")
    _, cfg, net = load_trained(path, device)
    if label is not None:
        if not net.conditional:
            raise ConfigError(f"--class needs a conditional model; {cfg['model']!r} is not one")
        if not 0 <= label < net.info.num_classes:
            raise ConfigError(f"--class {label} is out of range; {net.info.name!r} has classes "
                              f"0..{net.info.num_classes - 1}")
    gen = torch.Generator(device=net.device)
    gen.manual_seed(seed)
    parts = []
    for i in range(0, n, chunk):
        m = min(chunk, n - i)
        y = None if label is None else torch.full((m,), label, dtype=torch.long)
        parts.append(net.info.to_data_space(net.sample(m, generator=gen, y=y)).float().cpu())
    return torch.cat(parts).numpy().astype(np.float32)

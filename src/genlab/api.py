"""The Python API behind the CLI: train, resume and sample, reading and writing run directories.

Reading a finished run (its config, its trained model) is ``genlab.load``, re-exported here; a run's
model-specific pictures (``genlab.pictures``) are drawn at the end of training and resuming, before the run is
marked finished.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from contextlib import nullcontext
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from . import __version__, distributed
from . import data as _data  # noqa: F401  (registers datasets)
from . import models as _models  # noqa: F401  (registers models)
from .config import DataConfig, TrainConfig, apply_overrides, from_dict, to_dict
from .data.base import TensorData, load_data
from .data.fingerprint import check_data_unchanged, data_fingerprint
from .errors import ConfigError, DataError, RunDirError
from .load import build_model, load_trained, read_run, resolve_device
from .registry import DATASETS, MODELS
from .rundir import RunDir
from .trainer import Trainer

__all__ = ["make_configs", "train", "resume", "sample", "build_model", "load_trained", "read_run", "resolve_device"]

MAX_SEED = 2**63 - 1  # every generator genlab seeds (torch, numpy) takes 0 .. 2**63 - 1, offsets included


def make_configs(model: str, dataset: str, overrides: Optional[dict[str, str]] = None,
                 train: Optional[dict] = None) -> dict:
    """Configs for a model and dataset, in order of precedence: command-line overrides, then a named preset,
    then `train` values, then the model's defaults for the data's kind (``GenerativeModel.defaults_for``), then
    the dataset's training defaults, then the dataclass defaults."""
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
    given = {k.rpartition(".")[2].replace("-", "_") for k in [*overrides, *(train or {})]}

    def configs(kind: str, profile: str) -> dict:
        fitted = cls.defaults_for(kind, profile)  # the model's defaults for this kind of data
        if given & {"epochs", "steps"}:  # a length asked for replaces the default length whole (epochs or steps)
            fitted["train"] = {k: v for k, v in fitted["train"].items() if k not in ("epochs", "steps")}
        sections = {
            "train": TrainConfig(**{**spec.train_defaults, **fitted["train"], **(train or {}),
                                    **preset.get("train", {})}),
            "data": DataConfig(**{"dataset": dataset, **preset.get("data", {})}),
            "model": dataclasses.replace(cls.Config(), **{**fitted["model"], **preset.get("model", {})}),
        }
        return apply_overrides(sections, overrides)

    cfgs = configs(spec.kind, spec.profile)
    try:  # the user's own files: the defaults their kind and size call for
        found = spec.defaults_key(cfgs["data"])
    except DataError:  # files missing or unreadable: loading them says what is wrong
        found = (spec.kind, spec.profile)
    if found != (spec.kind, spec.profile):
        cfgs = configs(*found)
    data = cfgs["data"]
    if data.path or data.data_dir:  # stored resolved, so that the run's files are found from any folder
        cfgs["data"] = dataclasses.replace(data, **{k: str(Path(getattr(data, k)).expanduser().resolve())
                                                    for k in ("path", "data_dir") if getattr(data, k)})
    cfgs["preset"] = preset_name
    return cfgs


def check_seed(seed: int, flag: str = "seed") -> int:
    if not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"invalid value for '{flag}': {seed} is out of range; use 0 to {MAX_SEED}")
    return seed


def _reference_points(data: TensorData) -> Optional[np.ndarray]:
    if data.info.kind != "points":
        return None
    return data.x[:2500].cpu().numpy()


def train(model: str, out: str | Path, cfgs: dict, overwrite: bool = False, progress: Optional[bool] = None,
          pictures: bool = True) -> RunDir:
    """Train `model` with configs from `make_configs`, writing a new run directory `out`.

    The directory is locked while training: a second writer (train --overwrite, resume) is refused."""
    tcfg: TrainConfig = cfgs["train"]
    check_seed(tcfg.seed)
    RunDir.check_new(out, overwrite)
    dist, device = _processes(tcfg.device)
    torch.manual_seed(tcfg.seed)
    cls = MODELS.get(model)
    data = load_data(cfgs["data"], preferred_range=cls.preferred_range, device=device, seed=tcfg.seed)
    net = build_model(model, cfgs["model"], data.info, device)
    distributed.seed_rank(dist, tcfg.seed)
    trainer = Trainer(net, data, tcfg, RunDir(out), reference=_reference_points(data), dist=dist)
    # bad input has been reported by now; only then is the run directory made (by rank 0)
    distributed.barrier(dist)
    with RunDir.create(out, overwrite=overwrite) if dist.main else nullcontext(RunDir(out)) as run:
        distributed.barrier(dist)  # the others go on once the run directory is there
        trainer.run = run
        if dist.main:
            run.write_config({
                "genlab_version": __version__,
                "created": _now(),
                "model": model,
                "preset": cfgs.get("preset"),
                "seed": tcfg.seed,
                "device": str(device),
                "processes": dist.world,
                "train": to_dict(tcfg),
                "data": to_dict(cfgs["data"]),
                "model_config": to_dict(cfgs["model"]),
                "data_info": dataclasses.asdict(data.info),
                "data_fingerprint": data_fingerprint(cfgs["data"]),
                "resolved": resolved_values(cfgs, net, data.info),
            })
        trainer.fit(progress=progress, pictures=(lambda: _pictures(run)) if pictures else None)
    return run


def _processes(device: str) -> tuple[distributed.Dist, torch.device]:
    """This process's place among the processes torchrun started (one, without torchrun) and its device."""
    kind = resolve_device(device)
    dist = distributed.setup(kind.type)
    return dist, torch.device(distributed.device_for(dist, kind.type)) if dist.enabled else kind


def resolved_values(cfgs: dict, net: GenerativeModel, info: DataInfo) -> dict:
    """What each "auto" setting became for this run, by section (config.json's "resolved")."""
    out = {"model": {k: v for k, v in net.resolved.items() if getattr(cfgs["model"], k, None) == "auto"},
           "data": {"range": info.range} if cfgs["data"].range == "auto" else {}}
    return {k: v for k, v in out.items() if v}


def _now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


def _pictures(run: RunDir) -> None:
    """The model-specific pictures of a finished run (reconstructions, latent space ...), then its page."""
    from .pictures import make_pictures

    make_pictures(run.path)


def is_resumable_key(section: str, name: str) -> bool:
    """What `genlab resume DIR KEY=VALUE` may change: the learning rates and the schedule (the weights and the
    data order fix everything else)."""
    if section == "train":
        return name == "lr_schedule"
    return name == "lr" or name.startswith("lr_") or name.endswith("_lr")


def resume_configs(cfg: dict, epochs: Optional[int] = None, steps: Optional[int] = None,
                   device: Optional[str] = None, overrides: Optional[dict[str, str]] = None
                   ) -> tuple[TrainConfig, object, dict[str, list]]:
    """The train and model configs of a run with a resume's changes, and those changes ({key: [old, new]})."""
    model_cls = MODELS.get(cfg["model"])
    tdict = dict(cfg["train"])
    if epochs is not None:
        tdict.update(epochs=epochs, steps=0)
    if steps is not None:
        tdict.update(steps=steps)
    if device is not None:
        tdict["device"] = device
    sections = {"train": from_dict(TrainConfig, tdict, "train"),
                "model": from_dict(model_cls.Config, cfg["model_config"], "model_config")}
    overrides = dict(overrides or {})
    for key in overrides:
        section, _, name = key.replace("-", "_").rpartition(".")
        owners = [s for s, c in sections.items() if name in {f.name for f in dataclasses.fields(c)}]
        if not any(is_resumable_key(s, name) for s in ([section] if section else owners)):
            allowed = sorted(f.name for s, c in sections.items() for f in dataclasses.fields(c)
                             if is_resumable_key(s, f.name))
            raise ConfigError(f"resume can change only the learning rates and the schedule ({', '.join(allowed)}), "
                              f"not '{key}': the trained weights and the data order fix the rest; start a new run "
                              f"with genlab train to change it")
    new = apply_overrides(sections, overrides)
    before = {**{f"train.{k}": v for k, v in cfg["train"].items()},
              **{f"model_config.{k}": v for k, v in cfg["model_config"].items()}}
    after = {**{f"train.{k}": v for k, v in to_dict(new["train"]).items()},
             **{f"model_config.{k}": v for k, v in to_dict(new["model"]).items()}}
    changed = {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}
    return new["train"], new["model"], changed


def resume(path: str | Path, epochs: Optional[int] = None, steps: Optional[int] = None,
           device: Optional[str] = None, progress: Optional[bool] = None,
           allow_data_change: bool = False, overrides: Optional[dict[str, str]] = None) -> tuple[RunDir, int, int]:
    """Continue a run from its latest checkpoint up to `epochs` or `steps` in all (default: as configured).

    `overrides` ({"lr": "1e-4", "lr_schedule": "linear"}) change learning rates and the schedule from here
    on; config.json's ``history`` records every resume and what it changed. Refuses when the run's data
    changed since it was trained, unless `allow_data_change`. A run that reached its last step but lacks
    its final pictures or status (killed while drawing them) gets them. The run is locked meanwhile.

    Returns (run, step resumed from, step reached).
    """
    run, cfg, _ = read_run(path)
    tcfg, mcfg, changed = resume_configs(cfg, epochs, steps, device, overrides)
    check_seed(tcfg.seed)
    dcfg = from_dict(DataConfig, cfg["data"], "data")
    dist, dev = _processes(tcfg.device)
    with run.acquire() if dist.main else nullcontext():
        if dist.main:
            run.remove_leftovers()
            check_data_unchanged(cfg.get("data_fingerprint"), cfg["data"], f"cannot resume {run.path}",
                                 allow_data_change)
        distributed.barrier(dist)
        torch.manual_seed(tcfg.seed)
        model = cfg["model"]
        data = load_data(dcfg, preferred_range=MODELS.get(model).preferred_range, device=dev, seed=tcfg.seed)
        net = build_model(model, mcfg, data.info, dev)
        distributed.seed_rank(dist, tcfg.seed)
        trainer = Trainer(net, data, tcfg, run, reference=_reference_points(data), dist=dist)
        trainer.restore()
        start = trainer.step
        if start >= trainer.total:
            if not is_complete(run):
                trainer.finish(pictures=lambda: _pictures(run))
            return run, start, start
        if dist.main:
            if cfg.get("processes", 1) != dist.world:
                changed["processes"] = [cfg.get("processes", 1), dist.world]
            cfg["train"], cfg["model_config"], cfg["processes"] = to_dict(tcfg), to_dict(mcfg), dist.world
            cfg["history"] = [*cfg.get("history", []),
                              {"step": start, "date": _now(), "genlab_version": __version__, "changed": changed}]
            run.write_config(cfg)
        trainer.fit(progress=progress, pictures=lambda: _pictures(run))
    return run, start, trainer.step


def is_complete(run: RunDir) -> bool:
    """Whether a run's status says finished and its final pictures are there."""
    pictures = [run.samples / "final.png", run.samples / "curves.png"]
    return run.read_status().get("state") == "finished" and all(p.is_file() for p in pictures)


def free_memory() -> Optional[int]:
    """Bytes of memory available to a new allocation (Linux: MemAvailable), or None when unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


@torch.no_grad()
def sample(path: str | Path, n: int, seed: int = 0, device: str = "cpu", chunk: int = 1000,
           label: Optional[int] = None, checkpoint: str = "latest") -> np.ndarray:
    """n samples in data space: images float32 (N, C, H, W) in [0, 1], points (N, D).

    `label`: for conditional models, draw every sample from this class. `checkpoint`: latest, best or step-N.
    The size is checked against the free memory before anything is drawn; samples holding NaN or inf (a
    diverged model) are an error."""
    if n < 1:
        raise ConfigError("--n must be at least 1")
    check_seed(seed, "--seed")
    _, cfg, net = load_trained(path, device, checkpoint)
    need = n * int(np.prod(net.info.shape)) * 4 * 2  # the array, and the chunks it is assembled from
    free = free_memory()
    if free is not None and need > free // 2:
        raise ConfigError(f"--n {n} samples of shape {'x'.join(map(str, net.info.shape))} need {need / 1e9:.1f} GB, "
                          f"more than half the free memory ({free / 1e9:.1f} GB); draw fewer, or several sets with "
                          f"different --seed")
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
        x = net.info.to_data_space(net.sample(m, generator=gen, y=y)).float().cpu()
        if not torch.isfinite(x).all():
            raise RunDirError(f"the model of {path} draws NaN or infinite samples: its training diverged; "
                              f"train it again with a lower learning rate")
        parts.append(x)
    return torch.cat(parts).numpy().astype(np.float32)

"""One validating loader for every file of a run directory.

``config.json``, ``status.json``, ``metrics.jsonl``, ``evaluation.json``, ``checkpoints/*/state.pt`` and
``checkpoints/*/model.safetensors`` are read here and only here. A file that is missing, not a regular
file (a FIFO would block the reader forever), unreadable, cut off, or holds a field of the wrong type or
shape becomes a ``RunDirError`` of one line that names the file and the field. Every field genlab writes
has a type below; a field written without one is caught by the mutation tests (``tests/test_fuzz.py``).
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import stat
import types
import typing
from pathlib import Path
from typing import Any, Callable, Literal, Optional, Union

import torch

from .errors import ConfigError, RunDirError

DAMAGED = "the run directory is damaged (restore the file, or train a new run)"


def damaged(path: Path | str) -> str:
    """How to get past a damaged file: a checkpoint's folder can go (the one before it is used)."""
    folder = Path(str(path).split(" line ")[0]).parent
    if folder.name.startswith("step-"):
        return f"the checkpoint is damaged: delete the folder {folder} to go back to the one before it"
    return DAMAGED


class Record(dict):
    """A JSON object's schema: field -> (type, required)."""


def _kind(x: Any) -> str:
    if x is None:
        return "null"
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {list(x.shape)}"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            tuple: "a list", dict: "an object"}.get(type(x), type(x).__name__)


def bad(file: Path | str, field: str, why: str) -> RunDirError:
    where = f"{file}: field '{field}'" if field else str(file)
    return RunDirError(f"{where} {why}; {damaged(file)}")


# ----------------------------------------------------------------------------------------------------
# bytes and JSON


def read_file(path: Path | str) -> bytes:
    """The bytes of a run file. Refuses a FIFO, device or folder before opening it (opening a FIFO blocks)."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise RunDirError(f"{path} is missing; {damaged(path)}") from None
    except OSError as e:
        raise RunDirError(f"cannot read {path}: {e.strerror or e}") from None
    if not stat.S_ISREG(st.st_mode):
        what = "a folder" if stat.S_ISDIR(st.st_mode) else "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a special file"
        raise RunDirError(f"{path} is {what}, not a regular file; {damaged(path)}")
    try:
        return path.read_bytes()
    except OSError as e:
        raise RunDirError(f"cannot read {path}: {e.strerror or e}") from None


def load_json(path: Path | str) -> Any:
    data = read_file(path)
    try:
        return json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise bad(path, "", "is not text (it holds binary data)") from None
    except json.JSONDecodeError as e:
        cut = " (cut off)" if e.pos >= len(data.rstrip()) else ""
        raise bad(path, "", f"is not valid JSON{cut}: {e.msg} at line {e.lineno} column {e.colno}") from None


# ----------------------------------------------------------------------------------------------------
# type checks


def check_type(value: Any, tp: Any, file: Path | str, field: str) -> None:
    """Raise `bad(file, field, ...)` unless the JSON `value` fits the type hint `tp`."""
    if not _fits(value, tp, file, field):
        raise bad(file, field, f"should be {_describe(tp)}, not {_kind(value)} ({json.dumps(value)[:40]})")


def _fits(value: Any, tp: Any, file, field) -> bool:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return True
    if isinstance(tp, Record):
        check_record(value, tp, file, field)
        return True
    if dataclasses.is_dataclass(tp):
        check_dataclass(value, tp, file, field)
        return True
    if tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    if origin is Literal:
        return any(type(value) is type(a) and value == a for a in args)
    if origin in (Union, types.UnionType):
        return any(_fits(value, a, file, field) for a in args)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            if len(value) != len(args):
                return False
            for i, (v, a) in enumerate(zip(value, args)):
                check_type(v, a, file, f"{field}[{i}]")
            return True
        for i, v in enumerate(value):
            check_type(v, args[0] if args else Any, file, f"{field}[{i}]")
        return True
    if origin is dict:
        if not isinstance(value, dict):
            return False
        for k, v in value.items():
            check_type(v, args[1] if args else Any, file, f"{field}.{k}")
        return True
    raise TypeError(f"runfiles: no check for type {tp!r} (field {field})")


def _describe(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if isinstance(tp, Record) or dataclasses.is_dataclass(tp) or origin is dict:
        return "an object"
    if origin is Literal:
        return "one of " + ", ".join(json.dumps(a) for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if origin in (tuple, list):
        return "a list"
    return {type(None): "null", bool: "true or false", int: "an integer", float: "a number",
            str: "a string"}.get(tp, str(tp))


def check_record(value: Any, schema: Record, file, field: str = "") -> dict:
    """A JSON object with the schema's required fields, each field of its type (others are kept)."""
    if not isinstance(value, dict):
        raise bad(file, field, f"should be an object, not {_kind(value)}")
    for name, (tp, required) in schema.items():
        sub = f"{field}.{name}" if field else name
        if name not in value:
            if required:
                raise bad(file, sub, "is missing")
            continue
        check_type(value[name], tp, file, sub)
    return value


def check_dataclass(value: Any, cls: type, file, field: str):
    """A config section: known fields of the dataclass's types (missing ones take their defaults, as for
    runs made before a field existed), built and validated by the dataclass itself."""
    from .config import from_dict

    if not isinstance(value, dict):
        raise bad(file, field, f"should be an object, not {_kind(value)}")
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(value) - set(hints))
    if unknown:
        raise bad(file, f"{field}.{unknown[0]}", f"is not a field of {cls.__name__}")
    for name, v in value.items():
        check_type(v, hints[name], file, f"{field}.{name}")
    try:
        return from_dict(cls, value, field)
    except (ConfigError, ValueError, TypeError) as e:
        raise bad(file, field, f"holds an invalid value: {e}") from None


# ----------------------------------------------------------------------------------------------------
# the JSON run files


FINGERPRINT = Record(sha256=(str, True), splits=(dict[str, Record(n=(int, True), sha256=(str, True))], True))
HISTORY_ENTRY = Record(step=(int, True), date=(str, True), genlab_version=(str, False),
                       changed=(dict[str, Any], True))
BEST = Record(step=(int, True), metric=(str, True), key=(str, True), direction=(Literal["min", "max"], True),
              value=(float, True))  # checkpoints/best/best.json (genlab.live_eval)
STATUS = Record(state=(Literal["running", "finished", "interrupted", "failed"], True), step=(int, True),
                message=(str, True), best=(BEST, False),
                evaluation=(Record(seconds=(float, True), evaluations=(int, True), share=(float, True)), False))
# the checkpoint a result was computed on (a name alone: written by genlab before the evaluation cache)
CHECKPOINT_ID = Record(name=(str, False), step=(int, True), weights=(str, True))
RESOLVED = Record(model=(dict[str, str], False), data=(dict[str, str], False))  # what "auto" became (shown only)
EVALUATION_ENTRY = Record(settings=(dict[str, Any], False))


def config_schema() -> Record:
    from .config import DataConfig, TrainConfig
    from .data.base import DataInfo

    return Record(genlab_version=(str, False), created=(str, False), model=(str, True),
                  preset=(Optional[str], False), seed=(int, False), device=(str, False), processes=(int, False),
                  train=(TrainConfig, True),
                  data=(DataConfig, True), model_config=(dict[str, Any], True), data_info=(DataInfo, True),
                  data_fingerprint=(FINGERPRINT, False), history=(list[HISTORY_ENTRY], False),
                  resolved=(RESOLVED, False))


def read_config(path: Path | str) -> dict:
    """config.json, every field checked; the model config against the registered model's Config."""
    from . import models as _models  # noqa: F401  (registers models)
    from .registry import MODELS

    cfg = check_record(load_json(path), config_schema(), path)
    if cfg["model"] not in MODELS:
        raise bad(path, "model", f"names no registered model ({cfg['model']!r}; see `genlab models`)")
    check_dataclass(cfg["model_config"], MODELS.get(cfg["model"]).Config, path, "model_config")
    info = cfg["data_info"]
    want = {"image": 3, "points": 1}[info["kind"]]
    if len(info["shape"]) != want or min(info["shape"]) < 1:
        raise bad(path, "data_info.shape", f"should be {want} positive sizes for {info['kind']} data, "
                                           f"not {info['shape']}")
    for name in ("num_classes", "domains"):
        if info.get(name, 1) < (0 if name == "num_classes" else 1):
            raise bad(path, f"data_info.{name}", "is negative")
    return cfg


def read_status(path: Path | str) -> dict:
    st = check_record(load_json(path), STATUS, path)
    if st["step"] < 0:
        raise bad(path, "step", "is negative")
    return st


def read_best(path: Path | str) -> dict:
    return check_record(load_json(path), BEST, path)


def read_evaluation(path: Path | str) -> dict:
    found = load_json(path)
    check_type(found, dict[str, EVALUATION_ENTRY], path, "")
    for name, entry in found.items():
        made_on = entry.get("settings", {}).get("checkpoint")
        if not isinstance(made_on, str) and made_on is not None:
            check_record(made_on, CHECKPOINT_ID, path, f"{name}.settings.checkpoint")
    return found


# an eval row (evaluation during training, genlab.live_eval) also names its metric and holds its settings
METRICS_ROW = Record(step=(int, True), epoch=(float, False), time=(float, False), metric=(str, False),
                     settings=(dict[str, Any], False))


def read_metrics(path: Path | str) -> list[dict]:
    """metrics.jsonl's rows. A last line without its newline is the cut-off write of a killed process and
    is left out; any other bad line is an error naming its number."""
    text = read_file(path).decode("utf-8", errors="replace")
    lines = text.split("\n")[:-1]  # the last piece: "" after a final newline, else the cut-off line
    rows = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path} line {i}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise bad(where, "", f"is not valid JSON ({e.msg})") from None
        check_record(row, METRICS_ROW, where)
        if row["step"] < 1:
            raise bad(where, "step", f"should be at least 1, not {row['step']}")
        for k, v in row.items():
            number = v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
            if k not in ("step", "metric", "settings") and not number:
                raise bad(where, k, f"should be a number or null, not {_kind(v)}")
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------------------------------
# checkpoints


def load_state(path: Path | str) -> dict:
    """state.pt with ``weights_only=True`` (tensors and plain containers; a pickle that would run code is
    refused), from bytes already read (a FIFO is refused before it can block)."""
    data = read_file(path)
    try:
        state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as e:  # unpickling errors, cut-off files, a file that tries to run code
        raise RunDirError(f"{path} is not a checkpoint genlab can load safely ({_torch_reason(e)}); genlab loads "
                          f"only tensors and plain containers, never code; {damaged(path)}") from None
    if not isinstance(state, dict):
        raise bad(path, "", f"should hold an object (dict), not {_kind(state)}")
    return state


def _torch_reason(e: Exception) -> str:
    """The part of torch's message that says what is wrong, without its advice to load unsafely."""
    text = str(e)
    for marker in ("WeightsUnpickler error: ", "Unpickler error: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    reason = text.strip().splitlines()[0] if text.strip() else type(e).__name__
    reason = reason.split(" was not an allowed global")[0].split(". Please")[0].split(" Check the ")[0]
    return reason.rstrip(".")[:160] or type(e).__name__


def check_state(state: dict, template: dict, path: Path | str, maps: tuple[str, ...] = (),
                optional: tuple[str, ...] = (), loose: Callable[[str], bool] = lambda field: False) -> None:
    """`state` has the structure of `template` (a fresh trainer's state): the same keys, types, tensor
    dtypes and shapes. Fields named in `maps` are free-form name -> value maps (checked by the caller);
    those in `optional` may be missing, or there when the template lacks them (CUDA generator states in a
    checkpoint resumed on a CPU); objects for which `loose(field)` holds may lack keys or have more
    (an optimizer's settings, whose keys change between PyTorch versions), but the keys they share with the
    template have its types."""
    _check_like(state, template, path, "", maps, optional, loose)


def _check_like(value, template, path, field, maps, optional, loose) -> None:
    if field in maps:
        if not isinstance(value, dict):
            raise bad(path, field, f"should be an object, not {_kind(value)}")
        return
    if isinstance(template, dict):
        if not isinstance(value, dict):
            raise bad(path, field, f"should be an object, not {_kind(value)}")
        free = loose(field)
        for k, t in template.items():
            sub = f"{field}.{k}" if field else str(k)
            if k not in value:
                if sub in optional or free:
                    continue
                raise bad(path, sub, "is missing")
            _check_like(value[k], t, path, sub, maps, optional, loose)
        extra = sorted(str(k) for k in set(value) - set(template)
                       if (f"{field}.{k}" if field else str(k)) not in optional)
        if extra and not free:
            raise bad(path, f"{field}.{extra[0]}" if field else extra[0], "is not part of a genlab checkpoint")
    elif isinstance(template, (list, tuple)):
        if not isinstance(value, (list, tuple)) or len(value) != len(template):
            raise bad(path, field, f"should be a list of {len(template)}, not {_kind(value)}")
        for i, (v, t) in enumerate(zip(value, template)):
            _check_like(v, t, path, f"{field}[{i}]", maps, optional, loose)
    elif isinstance(template, torch.Tensor):
        if not isinstance(value, torch.Tensor):
            raise bad(path, field, f"should be a tensor, not {_kind(value)}")
        if value.dtype != template.dtype or value.shape != template.shape:
            raise bad(path, field, f"should be a {template.dtype} tensor of shape {list(template.shape)}, not a "
                                   f"{value.dtype} tensor of shape {list(value.shape)}")
    elif isinstance(template, bool) or template is None or isinstance(template, str):
        if type(value) is not type(template):
            raise bad(path, field, f"should be {_kind(template)}, not {_kind(value)}")
    elif isinstance(template, (int, float)):
        check_type(value, type(template), path, field)
        if isinstance(value, float) and not math.isfinite(value):
            raise bad(path, field, f"is {value}")


def check_optimizer_state(entries: Any, params: list[torch.Tensor], path, field: str) -> None:
    """An optimizer's per-parameter state (Adam's moments, a momentum buffer ...): for known parameter
    indices, tensors of the parameter's shape and dtype, or float32 scalars (a step count); the same names
    for every parameter."""
    if not isinstance(entries, dict):
        raise bad(path, field, f"should be an object, not {_kind(entries)}")
    names = None
    for pid, st in entries.items():
        sub = f"{field}.{pid}"
        if not isinstance(pid, int) or not 0 <= pid < len(params):
            raise bad(path, sub, f"names no parameter (there are {len(params)})")
        if not isinstance(st, dict):
            raise bad(path, sub, f"should be an object, not {_kind(st)}")
        if names is not None and set(st) != names:
            raise bad(path, sub, f"holds {sorted(st)}, the other parameters {sorted(names)}")
        names = set(st)
        p = params[pid]
        for k, v in st.items():
            scalar = isinstance(v, torch.Tensor) and v.dim() == 0
            want = (torch.float32, ()) if scalar else (p.dtype, tuple(p.shape))
            if not isinstance(v, torch.Tensor) or (v.dtype, tuple(v.shape)) != want:
                raise bad(path, f"{sub}.{k}", f"should be a {want[0]} tensor of shape {list(want[1])}, not "
                                              f"{_kind(v)}" + (f" of {v.dtype}" if isinstance(v, torch.Tensor) else ""))


def load_weights(path: Path | str, model: torch.nn.Module) -> None:
    """model.safetensors into `model`: the same tensor names, shapes and dtypes as the model, all finite."""
    from safetensors.torch import load as load_safetensors

    data = read_file(path)
    try:
        weights = load_safetensors(data)
    except Exception as e:  # safetensors raises its own error types for damaged files
        raise bad(path, "", f"is not a safetensors file genlab can read ({str(e).splitlines()[0][:120]})") from None
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
    if missing or unexpected:
        raise RunDirError(f"{path} does not match the model (missing {missing[:3]}, unexpected {unexpected[:3]}); "
                          f"was it made by another model or config?")
    for name, t in weights.items():
        want = expected[name]
        if t.shape != want.shape or t.dtype != want.dtype:
            raise RunDirError(f"{path}: tensor '{name}' is {t.dtype} of shape {list(t.shape)} but the model "
                              f"(as config.json describes it) has {want.dtype} of shape {list(want.shape)}; was it "
                              f"made with another config?")
        if t.is_floating_point() and not torch.isfinite(t).all():
            raise RunDirError(f"{path}: tensor '{name}' holds NaN or infinite values: these weights diverged; "
                              f"delete the folder {Path(path).parent} to use an earlier checkpoint")
    model.load_state_dict({k: v.to(expected[k].device) for k, v in weights.items()})


def first_non_finite(model: torch.nn.Module) -> Optional[str]:
    """The name of the first weight or buffer holding NaN or inf, or None when all are finite."""
    for name, t in model.state_dict().items():
        if t.is_floating_point() and not torch.isfinite(t).all():
            return name
    return None


__all__ = ["bad", "check_optimizer_state", "check_record", "check_state", "check_type", "first_non_finite",
           "load_json", "load_state", "load_weights", "read_config", "read_evaluation", "read_file",
           "read_metrics", "read_status"]

"""Bad input as a hostile or careless user gives it: every case must end with a non-zero exit, one line of
message (no traceback, no hang) and nothing lost (the files it was pointed at are byte for byte as before).

Two parts:

- ``CASES``: the inputs of issue 15 (deleting a project with --overwrite, a second writer, FIFOs, a label of
  1e9, 7x7 images with conv nets, --n 1e10, a huge seed, ...), each a setup and a command line.
- the mutation harness: it reads the files of a real run directory (config.json, status.json,
  metrics.jsonl with a training row and an eval row, evaluation.json, state.pt, model.safetensors,
  checkpoints/best/best.json), walks every field and makes one damaged copy
  per field and kind of damage (wrong type, removed, wrong shape or dtype, NaN) plus whole-file damage
  (empty, cut off, garbage, another JSON type, a FIFO, a folder, missing). A field added to any of these
  files is mutated without a new test, so a field the loader does not check shows up here.

`pytest tests/test_fuzz.py -q` says how many inputs were tried and passed.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import signal
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from genlab.cli import main
from genlab.data import fingerprint
from genlab.rundir import RunDir

TIMEOUT_S = 120  # a FIFO that blocks a reader would hang the suite; the alarm turns a hang into a failure
RUN_ARGS = ["--steps", 4, "hidden=8", "latent_dim=2", "log_every=1", "ckpt_every=2", "sample_every=0",
            "batch_size=32", "grid_size=4"]
EVAL_ARGS = ["eval_every=3", "best=elbo", "eval_k=2", "eval_n_data=32"]  # eval rows, checkpoints/best


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    with deadline():
        code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict[str, Path]:
    """A finished, resumed (history), evaluated VAE run on digits (`MADE`), and a GAN run on ring8."""
    gan = tmp_path_factory.mktemp("base") / "gan"
    assert main([str(a) for a in ["train", "gan", "--dataset", "ring8", "--out", gan, "--steps", 2, "subset=256",
                                  "hidden=8,8", "noise_dim=2", "sample_every=0", "batch_size=64"]]) == 0
    return {"vae": MADE, "gan": gan}


class Hang(BaseException):
    """Raised by the alarm: not an Exception (nor an OSError), so no handler of genlab's can take it."""


@contextmanager
def deadline(seconds: int = TIMEOUT_S):
    """A command that blocks (a FIFO opened for reading) fails the test instead of hanging the suite."""
    def hang(signum, frame):
        raise Hang(f"the command did not finish within {seconds} s (a blocked read?)")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def snapshot(path: Path) -> dict[str, str]:
    """Every entry below `path` (not following links) with a digest of its content or its kind."""
    if not path.exists() and not path.is_symlink():
        return {}
    out = {}
    entries = [path] + sorted(path.rglob("*")) if path.is_dir() and not path.is_symlink() else [path]
    for p in entries:
        key = str(p.relative_to(path.parent))
        if p.is_symlink():
            out[key] = "link:" + os.readlink(p)
        elif p.is_dir():
            out[key] = "dir"
        elif p.is_file():
            out[key] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[key] = "special"
    return out


def check_refused(code: int, out: str, err: str, needles: tuple[str, ...] = ()) -> None:
    assert code != 0, f"accepted (exit 0): {out[-300:]}"
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("genlab: error: "), err
    for needle in needles:
        assert needle in err, (needle, err)


# ----------------------------------------------------------------------------------------------------
# the inputs of issue 15


@dataclass
class Case:
    id: str
    argv: list  # "{run}" is the copy of the base VAE run, "{tmp}" a fresh folder
    needles: tuple = ()
    setup: Optional[Callable[[Path, Path, dict], None]] = None
    watch: str = "{run}"  # the files that must be as they were


def _project(run: Path, tmp: Path, base: dict) -> None:
    (tmp / "proj" / "src").mkdir(parents=True)
    (tmp / "proj" / "config.json").write_text('{"name": "app"}')
    (tmp / "proj" / "src" / "main.py").write_text("print('my work')\n")


def _linked_project(run: Path, tmp: Path, base: dict) -> None:
    _project(run, tmp, base)
    (tmp / "link").symlink_to(tmp / "proj")


def _stray_file(run: Path, tmp: Path, base: dict) -> None:
    (run / "samples" / "my-notes.txt").write_text("mine")


def _hold_lock(run: Path, tmp: Path, base: dict) -> None:
    held = RunDir(run).acquire(command="genlab train vae --out elsewhere")
    _held.append(held)


_held: list[RunDir] = []


def _npz(name: str, x: np.ndarray, y: Optional[np.ndarray] = None):
    def setup(run: Path, tmp: Path, base: dict) -> None:
        arrays = {"x_train": x, "x_test": x[:8]} if y is None else {"x_train": x, "y_train": y, "x_test": x[:8],
                                                                   "y_test": y[:8]}  # no note of a held-out split
        np.savez(tmp / name, **arrays)

    return setup


def _text_npz(run: Path, tmp: Path, base: dict) -> None:
    (tmp / "t.npz").write_text("these are my notes, not arrays\n")


def _fifo(rel: str):
    def setup(run: Path, tmp: Path, base: dict) -> None:
        target = (tmp if rel == "fifo.npz" else run) / rel
        target.unlink(missing_ok=True)
        os.mkfifo(target)

    return setup


def _idx_negative(run: Path, tmp: Path, base: dict) -> None:
    folder = tmp / "data" / "mnist"
    folder.mkdir(parents=True)
    header = bytes([0, 0, 8, 3]) + np.array([-1, -28, 28], dtype=">i4").tobytes()
    (folder / "train-images-idx3-ubyte").write_bytes(header + bytes(28 * 28))
    (folder / "train-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + np.array([1], dtype=">i4").tobytes() + b"\0")


def _folder_at(rel: str):
    def setup(run: Path, tmp: Path, base: dict) -> None:
        (tmp / rel).mkdir()

    return setup


def _other_latent_size(run: Path, tmp: Path, base: dict) -> None:
    cfg = json.loads((run / "config.json").read_text())
    cfg["model_config"]["latent_dim"] = 3
    (run / "config.json").write_text(json.dumps(cfg))


def _another_models_state(run: Path, tmp: Path, base: dict) -> None:
    src = sorted((base["gan"] / "checkpoints").iterdir())[-1] / "state.pt"
    for ckpt in (run / "checkpoints").iterdir():
        shutil.copy(src, ckpt / "state.pt")


def _changed_data(run: Path, tmp: Path, base: dict) -> None:
    x = np.random.default_rng(0).normal(size=(200, 2)).astype(np.float32)
    np.savez(tmp / "pts.npz", x_train=x, x_test=x[:50])
    code = main([str(a) for a in ["train", "vae", "--dataset", "npz", f"path={tmp / 'pts.npz'}", "--out", tmp / "r2",
                                  "--steps", 2, "hidden=8", "sample_every=0", "batch_size=50"]])
    assert code == 0
    np.savez(tmp / "pts.npz", x_train=x[:150], x_test=x[:50])


def _nan_weights(run: Path, tmp: Path, base: dict) -> None:
    for ckpt in (run / "checkpoints").iterdir():
        w = load_file(str(ckpt / "model.safetensors"))
        save_file({k: torch.full_like(v, math.nan) for k, v in w.items()}, str(ckpt / "model.safetensors"))


SAMPLE = ["sample", "{run}", "--n", 4, "--out", "{tmp}/s.npy"]
TRAIN = ["train", "vae", "--dataset", "digits", "--steps", 1, "hidden=8"]
CASES = [
    # 1. --overwrite deletes only what genlab made
    Case("overwrite-a-project", [*TRAIN, "--out", "{tmp}/proj", "--overwrite"], ("not a genlab run directory", "src/"),
         _project, watch="{tmp}/proj"),
    Case("overwrite-a-linked-project", [*TRAIN, "--out", "{tmp}/link", "--overwrite"], ("not a genlab run directory",),
         _linked_project, watch="{tmp}/proj"),
    Case("overwrite-a-run-holding-my-file", [*TRAIN, "--out", "{run}", "--overwrite"], ("samples/my-notes.txt",),
         _stray_file),
    Case("overwrite-without-the-flag", [*TRAIN, "--out", "{run}"], ("already exists", "--overwrite")),
    # 2. one writer at a time
    Case("overwrite-while-training", [*TRAIN, "--out", "{run}", "--overwrite"], ("in use by process",), _hold_lock),
    Case("resume-while-training", ["resume", "{run}", "--steps", 10], ("in use by process", "--out elsewhere"),
         _hold_lock),
    # 4. data identity
    Case("resume-on-changed-data", ["resume", "{tmp}/r2", "--steps", 4], ("data changed", "--allow-data-change"),
         _changed_data, watch="{tmp}/r2"),
    # 5. resume changes only learning rates and the schedule
    Case("resume-changes-latent-size", ["resume", "{run}", "latent_dim=3"], ("only the learning rates",)),
    Case("resume-unknown-key", ["resume", "{run}", "lr_typo=3"], ("lr_typo",)),
    Case("resume-bad-lr-value", ["resume", "{run}", "lr=fast"], ("'lr'", "number")),
    Case("resume-infinite-lr", ["resume", "{run}", "--steps", 10, "lr=inf"], ("'lr'", "finite number")),
    # 6. run files of the wrong kind, type or shape (more in the harness below)
    Case("fifo-state", ["resume", "{run}", "--steps", 10], ("FIFO",), _fifo("checkpoints/step-00000006/state.pt")),
    Case("fifo-weights", SAMPLE, ("FIFO",), _fifo("checkpoints/step-00000006/model.safetensors")),
    Case("another-latent-size", SAMPLE, ("shape",), _other_latent_size),
    Case("another-models-state", ["resume", "{run}", "--steps", 10], ("state.pt",), _another_models_state),
    Case("nan-weights-sample", SAMPLE, ("NaN",), _nan_weights),
    # 6. file system
    Case("out-in-proc", ["train", "vae", "--dataset", "digits", "--out", "/proc/genlab-run", "--steps", 1],
         ("/proc/genlab-run",)),
    Case("sample-out-onto-a-folder", ["sample", "{run}", "--n", 4, "--out", "{tmp}/d.npy"], ("not a file",),
         _folder_at("d.npy")),
    Case("sample-grid-onto-a-folder", ["sample", "{run}", "--n", 4, "--grid", "{tmp}/g.png"], ("not a file",),
         _folder_at("g.png")),
    # 6. values and sizes
    Case("evaluate-k-0", ["evaluate", "{run}", "--metrics", "nll", "--k", 0], ("--k",)),
    Case("evaluate-n-0", ["evaluate", "{run}", "--metrics", "reconstruction", "--n", 0], ("--n",)),
    Case("evaluate-batch-0", ["evaluate", "{run}", "--metrics", "elbo", "--batch-size", 0], ("--batch-size",)),
    Case("evaluate-kid-subsets-0", ["evaluate", "{run}", "--metrics", "kid", "--kid-subsets", 0], ("--kid-subsets",)),
    Case("evaluate-negative-seed", ["evaluate", "{run}", "--metrics", "reconstruction", "--seed", -1], ("--seed",)),
    Case("sample-n-huge", ["sample", "{run}", "--n", 10**11, "--out", "{tmp}/s.npy"], ("GB",)),
    Case("sample-n-0", ["sample", "{run}", "--n", 0, "--out", "{tmp}/s.npy"], ("--n",)),
    Case("sample-seed-huge", [*SAMPLE, "--seed", 10**23], ("--seed",)),
    Case("sample-grid-gif", ["sample", "{run}", "--n", 4, "--grid", "{tmp}/g.gif"], (".png",)),
    Case("sample-class-unconditional", [*SAMPLE, "--class", 3], ("conditional",)),
    Case("train-seed-huge", [*TRAIN, "--out", "{tmp}/r", "seed=99999999999999999999999"], ("'seed'",), watch="{tmp}"),
    Case("conv-on-7x7", ["train", "dcgan", "--dataset", "npz", "path={tmp}/s7.npz", "--out", "{tmp}/r", "--steps", 1],
         ("7x7",), _npz("s7.npz", np.zeros((64, 7, 7), np.uint8)), watch="{tmp}"),
    Case("conv-on-1x1", ["train", "vae", "--dataset", "npz", "path={tmp}/s1.npz", "--out", "{tmp}/r", "--steps", 1,
                         "net=conv"], ("1x1",), _npz("s1.npz", np.zeros((64, 1, 1), np.uint8)), watch="{tmp}"),
    Case("label-1e9", ["train", "cvae", "--dataset", "npz", "path={tmp}/l.npz", "--out", "{tmp}/r", "--steps", 1],
         ("1000000000",), _npz("l.npz", np.zeros((64, 8, 8), np.uint8), np.array([0] * 63 + [10**9])), watch="{tmp}"),
    Case("cgan-one-class", ["train", "cgan", "--dataset", "npz", "path={tmp}/o.npz", "--out", "{tmp}/r", "--steps", 1],
         ("same label",), _npz("o.npz", np.zeros((64, 8, 8), np.uint8), np.zeros(64, np.int64)), watch="{tmp}"),
    Case("idx-negative-dims", ["train", "vae", "--dataset", "mnist", "--data-dir", "{tmp}/data", "download=false",
                               "--out", "{tmp}/r", "--steps", 1], ("negative",), _idx_negative, watch="{tmp}"),
    # 7. smaller
    Case("text-file-named-npz", ["train", "vae", "--dataset", "npz", "path={tmp}/t.npz", "--out", "{tmp}/r"],
         ("not a numpy .npz file",), _text_npz, watch="{tmp}"),
    Case("dev-zero-as-npz", ["train", "vae", "--dataset", "npz", "path=/dev/zero", "--out", "{tmp}/r"],
         ("not a regular file",), watch="{tmp}"),
    Case("fifo-as-npz", ["train", "vae", "--dataset", "npz", "path={tmp}/fifo.npz", "--out", "{tmp}/r"],
         ("not a regular file",), _fifo("fifo.npz"), watch="{tmp}"),
    Case("compare-the-same-run-twice", ["compare", "{run}", "{run}/"], ("same run directory",)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_issue_inputs_are_refused_with_one_line_and_lose_nothing(case, base, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(base["vae"], run, symlinks=True)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    if case.setup:
        case.setup(run, tmp, base)
    capsys.readouterr()
    watched = Path(case.watch.format(run=run, tmp=tmp))
    before = snapshot(watched)
    try:
        code, out, err = run_cli(capsys, *[str(a).format(run=run, tmp=tmp) for a in case.argv])
        after = snapshot(watched)
    finally:
        while _held:
            _held.pop().release()
    check_refused(code, out, err, case.needles)
    assert after == before


# ----------------------------------------------------------------------------------------------------
# the mutation harness


@dataclass
class Mutation:
    file: str  # relative to the run directory
    what: str  # "<file>: <field>: <kind of damage>"
    apply: Callable[[Path], None]
    must_fail: bool = True  # False: the damage may be harmless (see `may_pass`); it must still end without a
    # traceback and, when refused, with one line that loses nothing
    needles: tuple = ()


CKPT = "checkpoints/step-00000006"
FILES = ["config.json", "status.json", "metrics.jsonl", "evaluation.json", f"{CKPT}/state.pt",
         f"{CKPT}/model.safetensors", "checkpoints/best/best.json"]
COMMANDS = {  # the command that reads each file first
    "config.json": SAMPLE,
    "status.json": ["status", "{run}"],
    "metrics.jsonl": ["resume", "{run}"],
    "evaluation.json": ["compare", "{run}"],
    "state.pt": ["resume", "{run}", "--steps", 10],
    "model.safetensors": SAMPLE,
    "best.json": ["resume", "{run}", "--steps", 10],
}
OPTIONAL_STATE = {"scalers", "rng_cuda"}  # fp16's gradient scalers and CUDA's generators: not in every checkpoint
OPTIONAL_CONFIG = {"genlab_version", "created", "preset", "seed", "device", "processes", "data_fingerprint", "history",
                   "history[0].genlab_version", "resolved"}


def may_pass(file: str, name: str, kind: str) -> bool:
    """Damage that is not an error. Removed config fields take their defaults (runs made before a field
    existed), and a fingerprint may lack a split; a missing status or metrics file means "not started" or "no
    rows", and an empty metrics file or one whose last row is cut off (what a killed process leaves) holds
    fewer rows; an evaluation may lack a metric or its settings, and its numbers and settings and what a resume
    changed are shown as they are; a metrics row may lack a logged term; a checkpoint made before fp16 had no
    gradient scalers; an optimizer may lack the state of a parameter (it starts afresh) or a setting (the
    config's is used); status.json may lack what evaluation during training adds (the best checkpoint, the
    time spent evaluating)."""
    removed = kind == "removed"
    if kind in ("file missing", "cut off", "empty"):
        return file in ("metrics.jsonl",) or (file, kind) == ("status.json", "file missing")
    if file == "config.json":
        defaulted = ("train.", "data.", "model_config.", "data_info.", "data_fingerprint.splits.", "resolved.")
        return (removed and (name in OPTIONAL_CONFIG or name.startswith(defaulted))) \
            or name.startswith("history[0].changed.")
    if file == "evaluation.json":
        return removed or ("." in name and not name.endswith(".settings"))
    if file == "metrics.jsonl":
        return removed and name.removeprefix(EVAL_ROW) != "step"
    if file == "status.json":  # what evaluation during training adds to it is for readers, not for resume
        return removed and name in ("best", "evaluation")
    if file == "state.pt":
        return removed and (name in OPTIONAL_STATE or ".state." in name or ".param_groups[" in name)
    return False


def _mutation(file: str, name: str, kind: str, apply: Callable[[Path], None]) -> Mutation:
    field_name = name.removeprefix(EVAL_ROW).rsplit(".", 1)[-1].split("[")[0]
    needles = (file,) if may_pass(file, name, kind) or name == "-" else (file, field_name)
    return Mutation(next(f for f in FILES if f.endswith(file)), f"{file}: {name}: {kind}", apply,
                    must_fail=not may_pass(file, name, kind), needles=needles)


def _wrong(value: Any) -> Any:
    """A value of another type than `value` (JSON or torch)."""
    if isinstance(value, bool):
        return "yes"
    if isinstance(value, (int, float, torch.Tensor)):
        return "12"
    if isinstance(value, str):
        return 12345
    if value is None:
        return {"x": 1}
    if isinstance(value, (list, tuple)):
        return "x"
    return [1, 2, 3]


def _paths(obj: Any, prefix: str = "") -> Iterator[tuple[str, list, Any, bool]]:
    """(dotted name, key path, value, whether it sits in an object) for every field of a JSON document or a
    torch state; of a list, and of an optimizer's per-parameter state (whose entries share their fields),
    only the first item."""
    if isinstance(obj, dict):
        items = list(obj.items())
        if items and isinstance(items[0][0], int):
            items = items[:1]
    elif isinstance(obj, (list, tuple)):
        items = list(enumerate(obj))[:1]
    else:
        return
    for k, v in items:
        name = f"{prefix}[{k}]" if not isinstance(obj, dict) else f"{prefix}.{k}" if prefix else str(k)
        yield name, [k], v, isinstance(obj, dict)
        for sub, keys, vv, in_dict in _paths(v, name):
            yield sub, [k, *keys], vv, in_dict


def _edit(obj: Any, keys: list, change: Callable[[Any], Any]) -> Any:
    """`obj` with the item at `keys` replaced by change(item) (removed when change returns _REMOVE)."""
    k, rest = keys[0], keys[1:]
    items = dict(obj) if isinstance(obj, dict) else list(obj)
    new = change(items[k]) if not rest else _edit(items[k], rest, change)
    if new is _REMOVE:
        del items[k]
    else:
        items[k] = new
    return items if isinstance(obj, (dict, list)) else tuple(items)


_REMOVE = object()
TENSOR_DAMAGE = {
    "wrong type": _wrong,
    "removed": lambda v: _REMOVE,
    "wrong shape": lambda t: t.reshape(-1)[:-1].clone() if t.numel() > 1 else torch.zeros(2, dtype=t.dtype),
    "wrong dtype": lambda t: t.to(torch.float64 if t.dtype != torch.float64 else torch.float32),
    "NaN": lambda t: torch.full_like(t, math.nan),
}


def _json_mutation(file: str, name: str, keys: list, kind: str) -> Mutation:
    def apply(run: Path) -> None:
        path = run / next(f for f in FILES if f.endswith(file))
        if file == "metrics.jsonl":  # damage the first training row, or the first eval row
            rows = path.read_text().splitlines()
            i = _first_eval_row(rows) if name.startswith(EVAL_ROW) else 0
            rows[i] = json.dumps(_edit(json.loads(rows[i]), keys, TENSOR_DAMAGE[kind]))
            path.write_text("\n".join(rows) + "\n")
        else:
            path.write_text(json.dumps(_edit(json.loads(path.read_text()), keys, TENSOR_DAMAGE[kind])))

    return _mutation(file, name, kind, apply)


def _state_mutation(name: str, keys: list, kind: str) -> Mutation:
    def apply(run: Path) -> None:
        path = run / CKPT / "state.pt"
        torch.save(_edit(torch.load(path, weights_only=True), keys, TENSOR_DAMAGE[kind]), path)

    return _mutation("state.pt", name, kind, apply)


def _weights_mutation(name: str, kind: str) -> Mutation:
    def apply(run: Path) -> None:
        path = run / CKPT / "model.safetensors"
        w = load_file(str(path))
        w = {**w, "extra.weight": torch.zeros(2)} if kind == "extra tensor" else _edit(w, [name], TENSOR_DAMAGE[kind])
        save_file(w, str(path))

    return _mutation("model.safetensors", name, kind, apply)


def _file_mutation(rel: str, kind: str) -> Mutation:
    def apply(run: Path) -> None:
        path = run / rel
        data = path.read_bytes()
        if kind in ("FIFO", "folder", "file missing"):
            path.unlink()
            if kind == "FIFO":
                os.mkfifo(path)
            elif kind == "folder":
                path.mkdir()
        elif kind == "empty object":  # a valid file of the right format holding nothing
            torch.save({}, path) if rel.endswith(".pt") else save_file({}, str(path))
        else:
            path.write_bytes({"cut off": data[: len(data) // 2], "empty": b"", "garbage": bytes(range(256)) * 4,
                              "another JSON type": b"[1, 2, 3]\n"}[kind])

    return _mutation(rel.split("/")[-1], "-", kind, apply)


EVAL_ROW = "eval row: "  # a metrics.jsonl row of evaluation during training (it names its metric)


def _first_eval_row(rows: list[str]) -> int:
    return next(i for i, r in enumerate(rows) if '"metric"' in r)


def mutations(run: Path) -> list[Mutation]:
    """Every mutation of every run file of `run`, derived from the files themselves."""
    out = []
    for rel in FILES:
        kinds = ["cut off", "empty", "garbage", "FIFO", "folder", "file missing"]
        kinds.append("another JSON type" if rel.endswith((".json", ".jsonl")) else "empty object")
        out += [_file_mutation(rel, k) for k in kinds]
    docs = {f: json.loads((run / f).read_text()) for f in ("config.json", "status.json", "evaluation.json")}
    docs["best.json"] = json.loads((run / "checkpoints/best/best.json").read_text())
    rows = (run / "metrics.jsonl").read_text().splitlines()
    for file, doc in docs.items():
        for name, keys, _, in_dict in _paths(doc):
            out += [_json_mutation(file, name, keys, k) for k in ["wrong type"] + (["removed"] if in_dict else [])]
    for prefix, row in (("", rows[0]), (EVAL_ROW, rows[_first_eval_row(rows)])):
        for name, keys, _, _ in _paths(json.loads(row)):
            if not name.startswith("settings."):  # what an evaluation was computed with: shown as it is
                out += [_json_mutation("metrics.jsonl", prefix + name, keys, k) for k in ("wrong type", "removed")]
    for name, keys, value, in_dict in _paths(torch.load(run / CKPT / "state.pt", weights_only=True)):
        kinds = ["wrong type"] + (["wrong shape", "wrong dtype"] if isinstance(value, torch.Tensor) else [])
        out += [_state_mutation(name, keys, k) for k in kinds + (["removed"] if in_dict else [])]
    for name, t in load_file(str(run / CKPT / "model.safetensors")).items():
        out += [_weights_mutation(name, k) for k in ["removed", "wrong shape", "wrong dtype", "NaN"]]
    out.append(_weights_mutation("-", "extra tensor"))
    return out


def _made_run() -> Path:
    """The run the harness damages, made once at collection (its files say which fields exist): trained,
    resumed with a new learning rate (config.json gets a history), evaluated (evaluation.json)."""
    import atexit
    import contextlib
    import io
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="genlab-fuzz-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    run = root / "vae"
    for argv in (["train", "vae", "--dataset", "digits", "--out", run, *RUN_ARGS, *EVAL_ARGS],
                 ["resume", run, "--steps", 6, "lr=5e-4"], ["evaluate", run, "--metrics", "reconstruction"]):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
            assert main([str(a) for a in argv]) == 0, err.getvalue()
    return run


MADE = _made_run()
MUTATIONS = mutations(MADE)


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m.what for m in MUTATIONS])
def test_every_damaged_run_file_gets_one_line_and_loses_nothing(mutation, base, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(base["vae"], run, symlinks=True)
    mutation.apply(run)
    before = snapshot(run)
    argv = [str(a).format(run=run, tmp=tmp_path) for a in COMMANDS[mutation.file.split("/")[-1]]]
    code, out, err = run_cli(capsys, *argv)
    assert "Traceback" not in err
    if mutation.must_fail or code != 0:
        check_refused(code, out, err, mutation.needles)
        assert snapshot(run) == before, "a refused command changed the run directory"

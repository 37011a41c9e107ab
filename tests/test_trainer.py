"""The trainer's promises: exact resume, the NaN guard, atomic and safe checkpoints, Ctrl-C."""

from __future__ import annotations

import errno
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from genlab import api
from genlab.checkpoint import latest_checkpoint, list_checkpoints, load_state, save_checkpoint
from genlab.cli import main
from genlab.errors import NonFiniteLossError, RunDirError
from genlab.models.vae import VAE

# (model, dataset, model overrides): a GAN with k = 2 exercises phases that re-use a batch
CASES = {
    "vae": ("vae", "digits", {"latent_dim": "4", "hidden": "32"}),
    "gan": ("gan", "ring8", {"d_steps": "2", "hidden": "32,32", "noise_dim": "4"}),
}


def _train(tmp: Path, name: str, steps: int, **train_kw):
    model, dataset, over = CASES[name]
    tr = {"steps": steps, "epochs": 0, "batch_size": 64, "log_every": 5, "sample_every": 1, **train_kw}
    over = {**over, "subset": "512"} if dataset == "ring8" else over
    cfgs = api.make_configs(model, dataset, over, train=tr)
    return api.train(model, tmp, cfgs, progress=False)


def _weights(run_path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(latest_checkpoint(Path(run_path) / "checkpoints") / "model.safetensors"))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_resume_is_bitwise_exact(tmp_path, name):
    full = _train(tmp_path / "full", name, 40)
    half = _train(tmp_path / "half", name, 20)
    run, start, end = api.resume(half.path, steps=40, progress=False)
    assert (start, end) == (20, 40)
    a, b = _weights(full.path), _weights(half.path)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    sa = load_state(latest_checkpoint(full.path / "checkpoints"))
    sb = load_state(latest_checkpoint(half.path / "checkpoints"))
    for player in sa["optimizers"]:
        for pid, st in sa["optimizers"][player]["state"].items():
            for key, v in st.items():
                assert torch.equal(v, sb["optimizers"][player]["state"][pid][key])
    # the metrics of the resumed run continue without gaps or repeats
    steps = [r["step"] for r in half.read_metrics()]
    assert steps == sorted(set(steps)) and steps[-1] == 40


def test_resume_past_the_end_trains_nothing(tmp_path):
    run = _train(tmp_path / "r", "vae", 10)
    assert api.resume(run.path, progress=False)[1:] == (10, 10)


@pytest.mark.slow
def test_nan_guard_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, capsys):
    calls = {"n": 0}
    original = VAE.loss

    def loss(self, phase, batch, step):
        out = original(self, phase, batch, step)
        calls["n"] += 1
        if calls["n"] == 15:
            out["loss"] = out["loss"] * float("nan")
        return out

    monkeypatch.setattr(VAE, "loss", loss)
    out = tmp_path / "nan"
    code = main(["train", "vae", "--dataset", "digits", "--out", str(out), "--steps", "30",
                 "ckpt_every=10", "latent_dim=2", "hidden=16"])
    err = capsys.readouterr().err
    assert code == NonFiniteLossError.exit_code == 3
    assert "step 15" in err and "vae loss is nan" in err and "step-00000010" in err
    assert "Traceback" not in err
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["step-00000010"]
    assert json.loads((out / "status.json").read_text())["state"] == "failed"
    # the kept checkpoint is whole: the run resumes from it
    monkeypatch.setattr(VAE, "loss", original)
    assert api.resume(out, progress=False)[1:] == (10, 30)


def test_a_crash_while_saving_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    run = _train(tmp_path / "r", "vae", 10)
    model = api.load_trained(run.path)[2]
    before = {p.name for p in (run.path / "checkpoints").iterdir()}

    def disk_full(path, data):
        Path(path).write_bytes(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("genlab.checkpoint.write_bytes", disk_full)
    with pytest.raises(OSError, match="No space left") as e:
        save_checkpoint(run.checkpoints, 11, model, {"step": 11})
    assert "step-00000011" in e.value.filename  # the message names what could not be written
    after = {p.name for p in (run.path / "checkpoints").iterdir()}
    assert after == before  # no step-00000011, no temporary folder left behind
    assert latest_checkpoint(run.checkpoints).name == "step-00000010"
    assert load_state(latest_checkpoint(run.checkpoints))["step"] == 10


def test_checkpoint_state_loads_with_weights_only(tmp_path):
    run = _train(tmp_path / "r", "gan", 6)
    state = torch.load(latest_checkpoint(run.checkpoints) / "state.pt", weights_only=True)
    assert state["step"] == 6 and set(state["optimizers"]) == {"disc", "gen"}


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch HACKED",))


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path, monkeypatch):
    run = _train(tmp_path / "r", "vae", 4)
    ckpt = latest_checkpoint(run.checkpoints)
    with open(ckpt / "state.pt", "wb") as f:
        pickle.dump({"step": 4, "x": _Evil()}, f)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RunDirError, match="load safely") as e:
        api.resume(run.path, steps=8, progress=False)
    assert not (tmp_path / "HACKED").exists()
    # one line naming what it holds, without torch's advice to load it unsafely
    assert "weights_only" not in str(e.value) and "\n" not in str(e.value)


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_resume_continues(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "genlab", "train", "vae", "--dataset", "ring8", "--out", str(out),
         "--steps", "1000000", "log_every=5", "sample_every=0", "hidden=16"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.time() + 60
    metrics = out / "metrics.jsonl"
    while time.time() < deadline and not (metrics.exists() and metrics.read_text().count("\n") >= 2):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert b"checkpoint saved" in err and b"Traceback" not in err
    status = json.loads((out / "status.json").read_text())
    assert status["state"] == "interrupted"
    step = load_state(latest_checkpoint(out / "checkpoints"))["step"]
    assert step == status["step"] > 0
    assert api.resume(out, steps=step + 3, progress=False)[1:] == (step, step + 3)


def test_linear_learning_rate_decay_reaches_zero_at_the_end():
    from genlab.trainer import lr_factor

    assert [lr_factor("linear", s, 10) for s in (0, 5, 9)] == pytest.approx([1.0, 0.5, 0.1])
    with pytest.raises(ValueError, match="nope"):
        lr_factor("nope", 0, 10)


def test_sync_bn_without_several_cuda_processes_is_a_clear_error(tmp_path):
    from genlab.config import TrainConfig
    from genlab.errors import ConfigError
    from genlab.rundir import RunDir
    from genlab.trainer import Trainer

    cfgs = api.make_configs("dcgan", "digits", {"sync_bn": "true", "steps": "1", "epochs": "0"})
    data = api.load_data(cfgs["data"], preferred_range="pm1", device=torch.device("cpu"), seed=0)
    model = api.build_model("dcgan", cfgs["model"], data.info, torch.device("cpu"))
    assert isinstance(cfgs["train"], TrainConfig) and cfgs["train"].sync_bn
    with pytest.raises(ConfigError, match="sync_bn=true .* --nproc N or torchrun on a GPU machine"):
        Trainer(model, data, cfgs["train"], RunDir(tmp_path / "run"))


def test_threads_one_on_small_data_by_default_as_set_otherwise_and_restored():
    import torch

    from genlab.trainer import cpu_threads

    outer = torch.get_num_threads()
    torch.set_num_threads(2)  # as PyTorch chooses on a 2-core machine (the tests may run with one)
    before = 2
    for small in [(2,), (1, 8, 8), (3, 8, 8)]:
        with cpu_threads(0, small):
            assert torch.get_num_threads() == 1  # tiny networks: more threads only wait on each other
    with cpu_threads(0, (1, 28, 28)):
        assert torch.get_num_threads() == before  # PyTorch's default, untouched
    with cpu_threads(3, (2,)):
        assert torch.get_num_threads() == 3
    assert torch.get_num_threads() == before
    torch.set_num_threads(outer)

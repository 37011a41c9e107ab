"""Real processes: SIGKILLs at random moments of train and resume, and two writers at once.

The kill test is Lightning's and Composer's promise: a kill at any moment loses at most the steps since the
last checkpoint, and afterwards the run's files agree with each other. After several kills and a last
resume, metrics.jsonl holds the steps 1..N exactly once and the weights equal an uninterrupted run's.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from genlab.checkpoint import latest_checkpoint, load_state
from genlab.cli import main
from genlab.rundir import RunDir

N = 120
ARGS = ["--steps", str(N), "--seed", "1", "hidden=8", "latent_dim=2", "log_every=1", "ckpt_every=7",
        "sample_every=0", "batch_size=32", "grid_size=4"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}


def genlab(*argv) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "genlab", *map(str, argv)], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def rows(path: Path) -> int:
    try:
        return (path / "metrics.jsonl").read_text().count("\n")
    except FileNotFoundError:
        return 0


def steps_logged(path: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (path / "metrics.jsonl").read_text().splitlines()]


def wait_for(cond, proc: subprocess.Popen, timeout: float = 120) -> bool:
    """Poll `cond` every 2 ms until it holds (True) or `proc` ends (False)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.002)
    raise TimeoutError("the run made no progress")


@pytest.mark.slow
def test_kills_at_random_moments_lose_nothing_and_change_nothing(tmp_path):
    rng = random.Random(15)
    ref, out = tmp_path / "ref", tmp_path / "run"
    reference = genlab("train", "vae", "--dataset", "digits", "--out", ref, *ARGS)
    kills, proc = [], genlab("train", "vae", "--dataset", "digits", "--out", out, *ARGS)
    # kills while training (targets anywhere, before the first checkpoint too), then one as the run ends
    targets = [rng.randint(1, 6), rng.randint(20, 60), rng.randint(61, 100), rng.randint(101, N - 1), N]
    for target in targets:
        if wait_for(lambda: rows(out) >= target, proc):
            time.sleep(rng.uniform(0, 0.03))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills.append(target)
        proc.communicate(timeout=120)
        proc = genlab("resume", out)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert reference.wait(timeout=300) == 0
    assert len(kills) >= 3, f"only {len(kills)} kills landed"
    assert steps_logged(out) == list(range(1, N + 1))
    assert json.loads((out / "status.json").read_text())["state"] == "finished"
    assert (out / "samples" / "final.png").is_file() and not (out / ".lock").exists()
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]
    a = load_file(str(latest_checkpoint(ref / "checkpoints") / "model.safetensors"))
    b = load_file(str(latest_checkpoint(out / "checkpoints") / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_a_second_writer_is_refused_and_sigterm_stops_like_ctrl_c(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*map(str, ["train", "vae", "--dataset", "digits", "--out", out, *ARGS[:1], 2, *ARGS[2:]])]) == 0
    first = genlab("resume", out, "--steps", 10**6)
    assert wait_for(lambda: rows(out) >= 20, first)
    second = genlab("resume", out, "--steps", 10**6)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2 and len(err.strip().splitlines()) == 1
    assert f"in use by process {first.pid}" in err and "genlab resume" in err
    capsys.readouterr()
    assert main(["train", "vae", "--dataset", "digits", "--out", str(out), "--steps", "1", "--overwrite"]) == 2
    assert f"in use by process {first.pid}" in capsys.readouterr().err
    assert RunDir(out).status()["state"] == "running" and RunDir(out).status()["pid"] == first.pid

    first.send_signal(signal.SIGTERM)
    _, err = first.communicate(timeout=120)
    assert first.returncode == 128 + signal.SIGTERM and "interrupted by SIGTERM" in err and "Traceback" not in err
    status = RunDir(out).status()
    step = load_state(latest_checkpoint(out / "checkpoints"))["step"]
    assert status["state"] == "interrupted" and status["step"] == step
    assert steps_logged(out) == list(range(1, step + 1))

"""Data-parallel training with torch.distributed (gloo, 2 processes on the CPU), started by torchrun as a
user would: ranks stay bitwise equal, 2 processes take the step of 1, resume is exact, a NaN on one rank
stops both, two 'nodes' meet through the c10d rendezvous, and `--nproc` starts it all from genlab."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from safetensors.torch import load_file

from genlab.checkpoint import STATE, WEIGHTS, latest_checkpoint
from genlab.distributed import SINGLE
from genlab.rundir import RunDir

from distributed_worker import CASES, deterministic_run, evaluation_draws

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not torch.distributed.is_available(), reason="this PyTorch has no torch.distributed")]

WORKER = Path(__file__).with_name("distributed_worker.py")
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def torchrun(*args: str, timeout: int = 300, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", *args], env=ENV, capture_output=True,
                          text=True, timeout=timeout, **kw)


def genlab(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "genlab", *args], env=ENV, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def steps(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("steps")
    res = torchrun("--standalone", "--nproc-per-node", "2", str(WORKER), "steps", str(out))
    assert res.returncode == 0, res.stderr[-3000:]
    return out


def ranks(out: Path, name: str) -> tuple[dict, dict]:
    return (torch.load(out / f"{name}-rank0.pt", weights_only=True),
            torch.load(out / f"{name}-rank1.pt", weights_only=True))


@pytest.mark.parametrize("name", [c[0] for c in CASES])
def test_ranks_hold_bitwise_equal_weights_and_buffers(steps, name):
    p0, p1 = ranks(steps, f"{name}-params")
    assert p0.keys() == p1.keys() and p0
    for k in p0:
        assert torch.equal(p0[k], p1[k]), f"{name}: parameter {k} differs between the ranks"
    b0, b1 = ranks(steps, f"{name}-buffers")
    for k in b0:
        assert torch.equal(b0[k], b1[k]), f"{name}: buffer {k} differs between the ranks after a save"


def test_two_processes_take_the_step_of_one_at_the_same_global_batch(steps, tmp_path):
    one = deterministic_run(SINGLE, RunDir(tmp_path)).state_dict()
    two, _ = ranks(steps, "deterministic")
    for k in one:
        torch.testing.assert_close(two[k], one[k], rtol=1e-5, atol=1e-6)
    assert not torch.equal(one["net.1.weight"], torch.zeros_like(one["net.1.weight"]))


def test_evaluation_chunks_split_across_ranks_give_the_one_process_result(steps):
    one = evaluation_draws(SINGLE)
    for rank in ranks(steps, "evaluation"):
        assert rank.keys() == one.keys()
        for k in one:
            torch.testing.assert_close(rank[k], one[k], rtol=1e-6, atol=1e-6)
    assert one["samples"].shape[0] == 50 and one["log_px"].shape == (20, 8)


def test_evaluate_under_torchrun_equals_one_process(tmp_path):
    run = tmp_path / "run"
    res = genlab("train", "vae", "--dataset", "digits", "--out", str(run), "--steps", "4", "batch_size=32",
                 "hidden=16", "latent_dim=2")
    assert res.returncode == 0, res.stderr[-2000:]
    flags = ["--metrics", "nll,prdc", "--k", "50", "--n-data", "90", "--n-samples", "200", "--features", "raw"]
    one = genlab("evaluate", str(run), *flags)
    assert one.returncode == 0, one.stderr[-2000:]
    two = torchrun("--standalone", "--nproc-per-node", "2", "-m", "genlab", "evaluate", str(run), *flags,
                   "--recompute")
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = json.loads(one.stdout), json.loads(two.stdout)  # rank 0 alone prints
    assert b["nll"]["settings"]["processes"] == 2
    for metric in ("nll", "prdc"):
        for key, value in a[metric].items():
            if isinstance(value, float):
                assert b[metric][key] == pytest.approx(value, rel=1e-6, abs=1e-9), (metric, key)


def test_ranks_draw_different_noise(steps):
    n0, n1 = ranks(steps, "noise")
    assert not torch.equal(n0, n1)
    torch.manual_seed(0)
    assert torch.equal(n0, torch.randn(8)), "rank 0 draws what a single process would"


def test_half_then_resume_ends_bitwise_equal_to_straight(steps):
    a = load_file(latest_checkpoint(steps / "straight" / "checkpoints") / WEIGHTS)
    b = load_file(latest_checkpoint(steps / "halves" / "checkpoints") / WEIGHTS)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"resumed run differs in {k}"
    rows = [json.loads(line)["step"] for line in (steps / "halves" / "metrics.jsonl").read_text().splitlines()]
    assert rows == list(range(1, 7))


def test_a_nan_on_one_rank_stops_both_with_exit_code_3(tmp_path):
    res = torchrun("--standalone", "--nproc-per-node", "2", str(WORKER), "nan", str(tmp_path), timeout=180)
    assert res.returncode != 0
    assert (tmp_path / "exit-rank0").read_text() == "3", res.stderr[-2000:]
    assert (tmp_path / "exit-rank1").read_text() == "3"
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["state"] == "failed" and "loss is nan" in status["message"]
    assert latest_checkpoint(tmp_path / "run" / "checkpoints").name == "step-00000002"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_nodes_meet_through_the_c10d_rendezvous(tmp_path):
    endpoint = f"127.0.0.1:{free_port()}"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1",
           "--rdzv-backend", "c10d", "--rdzv-endpoint", endpoint, "--rdzv-id", "genlab-test"]
    train = ["-m", "genlab", "train", "vae", "--dataset", "digits", "--out", str(tmp_path / "run"), "--steps", "4",
             "batch_size=32", "hidden=16", "latent_dim=2"]
    nodes = [subprocess.Popen([*cmd, "--node-rank", str(r), *train], env=ENV, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for r in (0, 1)]
    outs = [n.communicate(timeout=240)[0] for n in nodes]
    assert [n.returncode for n in nodes] == [0, 0], outs[0][-2000:] + outs[1][-2000:]
    assert json.loads((tmp_path / "run" / "status.json").read_text())["state"] == "finished"
    assert json.loads((tmp_path / "run" / "config.json").read_text())["processes"] == 2
    assert sum("run directory:" in o for o in outs) == 1, "rank 0 alone reports the run"


def test_nproc_starts_torchrun_and_resume_at_another_world_size_warns(tmp_path):
    run = tmp_path / "run"
    res = genlab("train", "gan", "--dataset", "ring8", "--out", str(run), "--steps", "4", "--nproc", "2",
                 "batch_size=32", "hidden=16,16", "subset=512")
    assert res.returncode == 0, res.stderr[-3000:]
    assert json.loads((run / "status.json").read_text())["state"] == "finished"
    assert res.stdout.count("run directory:") == 1
    state = torch.load(latest_checkpoint(run / "checkpoints") / STATE, weights_only=True)
    assert len(state["rng_ranks"]) == 2 and not torch.equal(*state["rng_ranks"])
    res = genlab("resume", str(run), "--steps", "6")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "checkpointed by 2 processes and resumes with 1" in res.stderr
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["processes"] == 1 and cfg["history"][-1]["changed"]["processes"] == [2, 1]


def test_nproc_must_be_positive(tmp_path):
    res = genlab("train", "vae", "--dataset", "digits", "--out", str(tmp_path / "r"), "--nproc", "0")
    assert res.returncode == 2 and "at least 1" in res.stderr and "Traceback" not in res.stderr

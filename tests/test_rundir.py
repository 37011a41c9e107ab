"""Run directories that tell the truth and lose nothing: --overwrite through links, stale locks, crashed
status, resume that trims metrics and finishes what a kill left, leftovers, the umask, the NaN guard,
resume KEY=VALUE, a full disk and a read-only folder. In-process and on toy sizes."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from genlab import checkpoint
from genlab.checkpoint import latest_checkpoint, list_checkpoints, load_state
from genlab.cli import main
from genlab.models.vae import VAE
from genlab.rundir import RunDir

TINY = ["hidden=8", "latent_dim=2", "log_every=1", "sample_every=0", "batch_size=32", "grid_size=4"]



def error_lines(err: str) -> list[str]:
    """What a command said on stderr beside its progress lines (`RUN: ...` while training)."""
    return [line for line in err.strip().splitlines() if not line.startswith("r: ")]

def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def train(capsys, out: Path, steps: int = 4, *extra) -> None:
    code, _, err = run(capsys, "train", "vae", "--dataset", "digits", "--out", out, "--steps", steps, *TINY, *extra)
    assert code == 0, err


def steps_logged(path: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (path / "metrics.jsonl").read_text().splitlines()]


def status(path: Path) -> dict:
    return json.loads((path / "status.json").read_text())


def dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def test_overwrite_replaces_a_genlab_run_through_a_link(tmp_path, capsys):
    real = tmp_path / "real"
    train(capsys, real, 2)
    (tmp_path / "link").symlink_to(real)
    train(capsys, tmp_path / "link", 3, "--overwrite")
    assert (tmp_path / "link").is_symlink() and steps_logged(real) == [1, 2, 3]
    assert json.loads((real / ".genlab-run").read_text())["run_format"] == 1


def test_a_dead_writer_reads_as_crashed_and_its_lock_is_taken_over(tmp_path, capsys):
    out = tmp_path / "r"
    train(capsys, out, 4, "ckpt_every=2")
    # what a SIGKILL at step 3 leaves: status running, a lock naming a dead process, a row past the checkpoint
    (out / "status.json").write_text(json.dumps({"state": "running", "step": 0, "message": ""}))
    (out / ".lock").write_text(json.dumps({"pid": dead_pid(), "host": os.uname().nodename, "command": "genlab train"}))
    for old in list_checkpoints(out / "checkpoints")[1:]:
        checkpoint.shutil.rmtree(old)
    code, stdout, _ = run(capsys, "status", out)
    assert code == 0 and "crashed at step 4" in stdout and "step-00000002" in stdout
    code, stdout, err = run(capsys, "resume", out)
    assert code == 0, err
    assert "resumed" in stdout and "at step 2" in stdout
    assert steps_logged(out) == [1, 2, 3, 4] and status(out)["state"] == "finished"
    assert not (out / ".lock").exists()


def test_resume_before_the_first_checkpoint_starts_over_and_logs_each_step_once(tmp_path, capsys):
    out = tmp_path / "r"
    train(capsys, out, 5)
    for ckpt in list_checkpoints(out / "checkpoints"):
        checkpoint.shutil.rmtree(ckpt)
    (out / "status.json").write_text(json.dumps({"state": "running", "step": 0, "message": ""}))
    code, stdout, err = run(capsys, "resume", out)
    assert code == 0, err
    assert steps_logged(out) == [1, 2, 3, 4, 5]


def test_resume_of_a_run_killed_while_drawing_its_final_pictures_draws_them(tmp_path, capsys):
    out = tmp_path / "r"
    train(capsys, out, 3)
    (out / "samples" / "final.png").unlink()
    (out / "samples" / "curves.png").unlink()
    (out / "status.json").write_text(json.dumps({"state": "running", "step": 0, "message": ""}))
    code, stdout, err = run(capsys, "resume", out)
    assert code == 0, err
    assert "drawn now" in stdout and status(out)["state"] == "finished"
    assert (out / "samples" / "final.png").stat().st_size > 0 and (out / "samples" / "curves.png").stat().st_size > 0
    code, stdout, _ = run(capsys, "resume", out)
    assert code == 0 and "drawn now" not in stdout  # nothing left to repair


def test_resume_removes_what_cut_off_writes_left(tmp_path, capsys):
    out = tmp_path / "r"
    train(capsys, out, 2)
    leftovers = [out / "checkpoints" / ".tmp-123-abcd", out / ".config.json.123-abcd.tmp",
                 out / "samples" / ".final.png.123-abcd.tmp"]
    leftovers[0].mkdir()
    (leftovers[0] / "state.pt").write_bytes(b"half")
    for p in leftovers[1:]:
        p.write_text("half")
    assert run(capsys, "resume", out, "--steps", 3)[0] == 0
    assert not any(p.exists() for p in leftovers)


@pytest.mark.parametrize("umask,file_mode,dir_mode", [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)])
def test_files_and_folders_follow_the_umask(tmp_path, capsys, umask, file_mode, dir_mode):
    previous = os.umask(umask)
    try:
        train(capsys, tmp_path / "r", 2)
    finally:
        os.umask(previous)
    ckpt = latest_checkpoint(tmp_path / "r" / "checkpoints")
    for f in ("config.json", "status.json", "metrics.jsonl", ".genlab-run", "samples/final.png"):
        assert (tmp_path / "r" / f).stat().st_mode & 0o777 == file_mode, f
    for f in (ckpt / "state.pt", ckpt / "model.safetensors"):
        assert f.stat().st_mode & 0o777 == file_mode, f
    assert ckpt.stat().st_mode & 0o777 == dir_mode


def test_the_nan_guard_drops_the_checkpoint_whose_weights_diverge(tmp_path, capsys):
    out = tmp_path / "r"
    code, _, err = run(capsys, "train", "vae", "--dataset", "digits", "--out", out, "--steps", 30, *TINY,
                       "lr=1e6", "ckpt_every=1")
    assert code == 3 and "Traceback" not in err
    failed = status(out)
    assert failed["state"] == "failed" and "is deleted" in failed["message"]
    kept = list_checkpoints(out / "checkpoints")
    # the checkpoint of the step before the non-finite loss is gone: its weights gave that loss
    assert all(checkpoint.step_of(c) < failed["step"] for c in kept)
    for c in kept:
        assert all(torch.isfinite(t).all() for t in load_file(str(c / "model.safetensors")).values())


def test_weights_that_turn_nan_are_never_saved(tmp_path, capsys, monkeypatch):
    calls = {"n": 0}

    def poison(self, phase, step):
        calls["n"] += 1
        if calls["n"] == 3:
            with torch.no_grad():
                next(self.parameters()).fill_(float("nan"))

    monkeypatch.setattr(VAE, "after_update", poison)
    out = tmp_path / "r"
    code, _, err = run(capsys, "train", "vae", "--dataset", "digits", "--out", out, "--steps", 6, *TINY,
                       "ckpt_every=3")
    assert code == 3 and "holds NaN or inf" in err and len(error_lines(err)) == 1
    assert list_checkpoints(out / "checkpoints") == [] and status(out)["state"] == "failed"


def test_resume_changes_learning_rates_and_the_schedule_and_records_them(tmp_path, capsys):
    out = tmp_path / "r"
    train(capsys, out, 2)
    code, _, err = run(capsys, "resume", out, "--steps", 4, "lr=1e-4", "lr_schedule=linear")
    assert code == 0, err
    history = json.loads((out / "config.json").read_text())["history"]
    assert history[-1]["step"] == 2
    assert history[-1]["changed"] == {"train.steps": [2, 4], "train.lr_schedule": ["constant", "linear"],
                                      "model_config.lr": [0.001, 0.0001]}
    lr = load_state(latest_checkpoint(out / "checkpoints"))["optimizers"]["vae"]["param_groups"][0]["lr"]
    assert lr == pytest.approx(1e-4 * (1 - 3 / 4))  # the new rate, decayed linearly, at the last step


def test_a_full_disk_while_training_is_one_line_and_keeps_the_last_checkpoint(tmp_path, capsys, monkeypatch):
    real = checkpoint.write_bytes
    saved = []

    def fill_up(path, data):
        if len(saved) >= 2:  # the second checkpoint's first file
            raise OSError(errno.ENOSPC, "No space left on device")
        saved.append(path)
        real(path, data)

    monkeypatch.setattr(checkpoint, "write_bytes", fill_up)
    out = tmp_path / "r"
    code, _, err = run(capsys, "train", "vae", "--dataset", "digits", "--out", out, "--steps", 6, *TINY,
                       "ckpt_every=2")
    assert code == 2 and len(error_lines(err)) == 1 and "Traceback" not in err
    assert "step-00000004" in err and "No space left on device (the disk is full" in err
    assert [c.name for c in list_checkpoints(out / "checkpoints")] == ["step-00000002"]
    assert not list((out / "checkpoints").glob(".tmp-*")) and not (out / ".lock").exists()
    assert status(out)["state"] == "failed"


@pytest.fixture
def read_only(monkeypatch):
    """Make a folder read-only: chmod, or (root ignores permissions) refuse writes below it in os.open."""
    made: list[Path] = []

    def apply(folder: Path) -> None:
        if os.geteuid() != 0:
            made.extend(p for p in [folder, *folder.rglob("*")] if p.is_dir())
            for p in made:
                p.chmod(0o555)
            return
        real_open = os.open

        def guarded(path, flags, *args, **kw):
            if Path(path).absolute().is_relative_to(folder.absolute()) and flags & (os.O_WRONLY | os.O_RDWR):
                raise OSError(errno.EROFS, "Read-only file system", str(path))
            return real_open(path, flags, *args, **kw)

        monkeypatch.setattr(os, "open", guarded)

    yield apply
    for p in made:
        p.chmod(0o755)


def test_a_read_only_run_folder_loses_no_results(tmp_path, capsys, read_only):
    out = tmp_path / "r"
    train(capsys, out, 2)
    read_only(out)
    code, stdout, err = run(capsys, "evaluate", out, "--metrics", "reconstruction")
    assert code == 2 and "evaluation.json" in err and "printed above" in err and "Traceback" not in err
    assert "mse" in json.loads(stdout)["reconstruction"]  # computed and shown before the store failed
    code, _, err = run(capsys, "resume", out, "--steps", 3)
    assert code == 2 and "cannot write to the run directory" in err and str(out) in err


def test_pictures_as_jpeg_and_of_1d_points(tmp_path, capsys):
    x = np.random.default_rng(0).normal(size=(256, 1)).astype(np.float32)
    np.savez(tmp_path / "line.npz", x_train=x, x_test=x[:64])
    out = tmp_path / "r"
    code, _, err = run(capsys, "train", "gan", "--dataset", "npz", f"path={tmp_path / 'line.npz'}", "--out", out,
                       "--steps", 2, "hidden=8,8", "noise_dim=2", "batch_size=64")
    assert code == 0, err
    assert (out / "samples" / "final.png").read_bytes()[:4] == b"\x89PNG"
    code, _, err = run(capsys, "sample", out, "--n", 16, "--grid", tmp_path / "s.jpg")
    assert code == 0, err
    assert (tmp_path / "s.jpg").read_bytes()[:3] == b"\xff\xd8\xff"  # JPEG, as the name says


def test_status_says_what_each_run_is(tmp_path, capsys):
    train(capsys, tmp_path / "done", 2)
    live = RunDir(tmp_path / "done").acquire(command="genlab resume done")
    try:
        (tmp_path / "done" / "status.json").write_text(json.dumps({"state": "running", "step": 1, "message": ""}))
        code, stdout, _ = run(capsys, "status", tmp_path / "done")
        assert code == 0 and f"running at step 2 (process {os.getpid()})" in stdout
    finally:
        live.release()


def test_resume_keeps_one_row_per_step_of_a_run_an_older_genlab_logged_twice(tmp_path, capsys):
    out = tmp_path / "r"
    train(capsys, out, 4)
    lines = (out / "metrics.jsonl").read_text().splitlines()
    (out / "metrics.jsonl").write_text("\n".join(lines + lines[2:]) + "\n")  # steps 3 and 4 twice
    assert run(capsys, "resume", out, "--steps", 5)[0] == 0
    assert steps_logged(out) == [1, 2, 3, 4, 5]


def test_a_checkpoint_with_cuda_generator_states_resumes_on_a_cpu():
    from genlab.runfiles import check_state

    template = {"step": 1, "rng_cpu": torch.zeros(3, dtype=torch.uint8)}
    saved = {**template, "rng_cuda": [torch.zeros(16, dtype=torch.uint8)]}
    check_state(saved, template, "state.pt", optional=("rng_cuda",))
    with pytest.raises(Exception, match="'other' is not part of a genlab checkpoint"):
        check_state({**saved, "other": 1}, template, "state.pt", optional=("rng_cuda",))

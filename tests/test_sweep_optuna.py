"""genlab sweep --search optuna: pruning, workers sharing a study, a killed worker's trial retried."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genlab.cli import build_parser, main

optuna = pytest.importorskip("optuna", reason="the Optuna tests need the sweep extra: pip install 'genlab[sweep]'")
from optuna.trial import TrialState  # noqa: E402

from genlab.sweep.command import build_sweep  # noqa: E402
from genlab.sweep.optuna_search import open_study  # noqa: E402

TOY = ["vae", "--dataset", "digits", "--metric", "elbo", "--search", "optuna", "subset=128", "batch_size=32",
       "hidden=16", "latent_dim=2", "sample_every=0", "log_every=4", "eval_k=2", "eval_n_data=64",
       "--startup-trials", "2", "--heartbeat", "1"]


def args_for(out, *more):
    args, extra = build_parser().parse_known_args(["sweep", *TOY, "--out", str(out), *more])
    return args, extra


def study_of(out, *more):
    args, extra = args_for(out, *more)
    return open_study(build_sweep(args, extra), args)


def test_pruning_stops_a_hopeless_trial_early(tmp_path):
    more = ["--grid", "lr=1e-2,1e-7", "--trials", "3", "--steps", "16", "--eval-every", "4"]
    study = study_of(tmp_path / "s", *more)
    for lr in ("1e-2", "1e-2", "1e-7"):  # two that learn, then one that cannot
        study.enqueue_trial({"lr": lr}, skip_if_exists=False)
    assert main(["sweep", *TOY, "--out", str(tmp_path / "s"), *more]) == 0
    trials = study_of(tmp_path / "s", *more).get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.PRUNED]
    status = json.loads((tmp_path / "s" / "runs" / "trial-0002" / "seed-0" / "status.json").read_text())
    assert status["state"] == "interrupted" and status["step"] == 4 < 16
    for t in trials[:2]:
        finished = json.loads((tmp_path / "s" / "runs" / t.user_attrs["folder"] / "seed-0" / "status.json").read_text())
        assert finished["state"] == "finished" and finished["step"] == 16
    md = (tmp_path / "s" / "sweep.md").read_text()
    assert "1 trial(s) pruned: 2 (step 4)" in md and md.count("| 1e-2 |") == 2 and "1e-7" not in md.split("|---|")[1]


def test_a_database_url_works_as_storage(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    more = ["--grid", "lr=log:1e-3:1e-2", "--trials", "2", "--steps", "4", "--storage", url, "--study", "db"]
    assert main(["sweep", *TOY, "--out", str(tmp_path / "s"), *more]) == 0
    study = optuna.load_study(study_name="db", storage=url)
    assert [t.state for t in study.get_trials()] == [TrialState.COMPLETE] * 2


def test_a_study_of_another_sweep_is_refused(tmp_path, capsys):
    more = ["--grid", "lr=1e-3,1e-2", "--trials", "1", "--steps", "4"]
    study_of(tmp_path / "s", *more)
    assert main(["sweep", *TOY, "--out", str(tmp_path / "s"), *more[:-1], "8"]) == 2
    assert "is another sweep's (fixed:" in capsys.readouterr().err


def test_without_optuna_a_one_line_error_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    assert main(["sweep", *TOY, "--out", str(tmp_path / "s"), "--grid", "lr=1e-3", "--trials", "1"]) == 2
    assert capsys.readouterr().err == ("genlab: error: --search optuna needs Optuna, an optional extra: "
                                       "pip install 'genlab[sweep]'\n")


# ----------------------------------------------------------------------------------------------------
# workers in their own processes


def worker(out: Path, *more: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "genlab", "sweep", *TOY, "--out", str(out), *more],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def finish(p: subprocess.Popen, timeout: float = 600) -> str:
    out, _ = p.communicate(timeout=timeout)
    assert p.returncode == 0, out
    return out


def training_steps(run: Path) -> list[int]:
    return [r["step"] for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if "metric" not in r]


@pytest.mark.slow
def test_two_workers_on_one_journal_finish_a_study_without_running_a_trial_twice(tmp_path):
    out = tmp_path / "s"
    more = ["--grid", "lr=log:1e-3:1e-2", "--grid", "lr_schedule=constant,linear", "--trials", "4", "--steps", "12",
            "--study", "shared"]
    a, b = worker(out, *more), worker(out, *more)
    logs = finish(a) + finish(b)
    trials = study_of(out, *more).get_trials()
    ended = (TrialState.COMPLETE, TrialState.PRUNED)  # the median pruner may stop one once two have finished
    assert 4 <= len(trials) <= 5 and all(t.state in ended for t in trials), logs  # both may start the last one
    folders = [t.user_attrs["folder"] for t in trials]
    assert len(set(folders)) == len(folders)
    for t in trials:
        run = out / "runs" / t.user_attrs["folder"] / "seed-0"
        steps = training_steps(run)
        if t.state == TrialState.COMPLETE:
            assert json.loads((run / "status.json").read_text())["state"] == "finished"
            assert steps == [4, 8, 12] and t.user_attrs["what"] == {"0": "trained"}, f"{run} was trained twice"
        else:
            assert steps == [4, 8, 12][:len(steps)] and steps, f"{run} was trained twice"
    assert (out / "sweep.md").exists()


@pytest.mark.slow
def test_a_killed_workers_trial_is_failed_and_retried_in_its_run_folder(tmp_path):
    out = tmp_path / "s"
    more = ["--grid", "lr=1e-3,3e-3", "--trials", "2", "--steps", "300", "ckpt_every=10", "log_every=10"]
    a = worker(out, *more)
    run = out / "runs" / "trial-0000" / "seed-0"
    deadline = time.time() + 300
    while not list((run / "checkpoints").glob("step-*")) and time.time() < deadline:
        assert a.poll() is None, a.communicate()[0]
        time.sleep(0.1)
    a.send_signal(signal.SIGKILL)
    a.wait()
    assert json.loads((run / "status.json").read_text())["state"] == "running"  # what a killed process leaves
    time.sleep(2.5)  # longer than the grace period (2 heartbeats)
    logs = finish(worker(out, *more))
    trials = study_of(out, *more).get_trials()
    assert trials[0].state == TrialState.FAIL and "outcome" not in trials[0].user_attrs
    retry = trials[1]
    assert retry.state == TrialState.COMPLETE, logs
    assert retry.user_attrs["folder"] == "trial-0000" and retry.params == trials[0].params
    assert retry.user_attrs["what"] == {"0": "resumed"}
    assert "retry of trial 0" in logs
    assert [t.state for t in trials[2:]] == [TrialState.COMPLETE]  # the study still gets its 2 trials
    steps = training_steps(run)
    assert steps == sorted(set(steps)) and steps[-1] == 300
    assert "1 trial(s) failed with their worker (killed or stopped) and were retried: 0" in (out / "sweep.md").read_text()

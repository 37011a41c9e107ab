"""Evaluation during training: eval rows, the best checkpoint, --checkpoint, and training left undisturbed."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from genlab.api import make_configs, resume, sample, train
from genlab.checkpoint import find_checkpoint, latest_checkpoint
from genlab.errors import ConfigError, RunDirError
from genlab.live_eval import listening, summary_line
from genlab.rundir import RunDir
from genlab.trainer import Interrupted

VAE = {"subset": "256", "batch_size": "64", "log_every": "2", "sample_every": "0", "keep_checkpoints": "20",
       "hidden": "32", "latent_dim": "4"}
VAE_EVAL = {"eval_metrics": "elbo,active-units", "eval_k": "3", "eval_n_data": "64"}


def fit(tmp_path, name, model, dataset, overrides):
    out = tmp_path / name
    train(model, out, make_configs(model, dataset, overrides), progress=False, pictures=False)
    return RunDir(out)


def weights(run: RunDir) -> dict:
    return load_file(str(latest_checkpoint(run.checkpoints) / "model.safetensors"))


def training_rows(run: RunDir) -> list[dict]:
    return [r for r in run.read_metrics() if "metric" not in r]


def without_time(rows):
    return [{k: v for k, v in r.items() if k != "time"} for r in rows]


@pytest.mark.parametrize("model, dataset, plain, evaluated", [
    ("vae", "digits", VAE, {"eval_every": "3", "best": "elbo", **VAE_EVAL}),
    # conv nets with batch norm, samples drawn by the evaluation
    ("gan", "digits", {"subset": "256", "net": "conv", "width": "8", "log_every": "2", "sample_every": "0"},
     {"eval_every": "epoch", "eval_metrics": "fid", "eval_features": "raw", "eval_n_samples": "64", "best": "fid"}),
])
def test_weights_are_bitwise_equal_with_and_without_evaluation(tmp_path, model, dataset, plain, evaluated):
    steps = {"steps": "10", "epochs": "0"}
    a = fit(tmp_path, "plain", model, dataset, {**plain, **steps})
    b = fit(tmp_path, "evaluated", model, dataset, {**plain, **steps, **evaluated})
    assert [r for r in b.read_metrics() if "metric" in r], "the evaluated run logged no eval row"
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa), "evaluation changed the trained weights"
    assert without_time(training_rows(a)) == without_time(training_rows(b))


def test_eval_rows_best_checkpoint_and_status(tmp_path):
    run = fit(tmp_path, "run", "vae", "digits", {**VAE, "steps": "12", "epochs": "0", "eval_every": "4",
                                                 "best": "elbo", **VAE_EVAL})
    rows = [r for r in run.read_metrics() if "metric" in r]
    assert [(r["step"], r["metric"]) for r in rows] == [(s, m) for s in (4, 8, 12) for m in ("elbo", "active-units")]
    for r in rows:
        assert r["settings"]["seconds"] >= 0 and isinstance(r["time"], float)
    elbos = {r["step"]: r["elbo_nats"] for r in rows if r["metric"] == "elbo"}
    best_step = max(elbos, key=elbos.get)
    status = json.loads((run.path / "status.json").read_text())
    assert status["state"] == "finished"
    assert status["best"]["step"] == best_step and status["best"]["value"] == elbos[best_step]
    assert status["best"]["metric"] == "elbo" and status["best"]["key"] == "elbo_nats"
    assert 0 < status["evaluation"]["share"] < 1 and status["evaluation"]["evaluations"] == 3
    best = load_file(str(find_checkpoint(run.checkpoints, "best") / "model.safetensors"))
    kept = load_file(str(run.checkpoints / f"step-{best_step:08d}" / "model.safetensors"))
    assert all(torch.equal(best[k], kept[k]) for k in kept)
    assert json.loads((run.checkpoints / "best" / "best.json").read_text())["step"] == best_step
    assert "best elbo_nats" in summary_line(run) and "3 evaluation(s)" in summary_line(run)
    # readers take any checkpoint
    x_best = sample(run.path, 8, checkpoint="best")
    x_step = sample(run.path, 8, checkpoint=f"step-{best_step}")
    assert (x_best == x_step).all()
    with pytest.raises(RunDirError, match="has no checkpoint step-5; its checkpoints: step-00000004"):
        sample(run.path, 8, checkpoint="step-5")
    with pytest.raises(ConfigError, match="write latest, best or step-N"):
        sample(run.path, 8, checkpoint="bestest")


def test_eval_every_epoch_and_at_the_end(tmp_path):
    # 256 examples in batches of 64: 4 steps an epoch; 10 steps end mid-epoch and are evaluated too
    run = fit(tmp_path, "run", "vae", "digits", {**VAE, "steps": "10", "epochs": "0", "eval_every": "epoch",
                                                 "eval_metrics": "elbo", "eval_k": "2"})
    assert [r["step"] for r in run.read_metrics() if "metric" in r] == [4, 8, 10]
    assert "best" not in json.loads((run.path / "status.json").read_text())
    with pytest.raises(RunDirError, match="has no best checkpoint; train it with best=METRIC"):
        sample(run.path, 4, checkpoint="best")


def test_resume_keeps_eval_rows_and_best_consistent(tmp_path):
    common = {**VAE, "epochs": "0", "eval_every": "3", "best": "elbo", **VAE_EVAL}
    whole = fit(tmp_path, "whole", "vae", "digits", {**common, "steps": "12"})
    half = fit(tmp_path, "half", "vae", "digits", {**common, "steps": "6"})
    resume(half.path, steps=12, progress=False)
    evals = lambda run: [(r["step"], r["metric"], r.get("elbo_nats")) for r in run.read_metrics() if "metric" in r]
    assert evals(half) == evals(whole)
    status = lambda run: json.loads((run.path / "status.json").read_text())["best"]
    assert status(half)["step"] == status(whole)["step"]
    assert all(torch.equal(weights(half)[k], weights(whole)[k]) for k in weights(whole))


def test_a_listener_stops_training_like_ctrl_c(tmp_path):
    seen = []

    def listener(event):
        seen.append(event.step)
        return "the test's listener" if event.step >= 6 else None

    with listening(listener), pytest.raises(Interrupted):
        fit(tmp_path, "run", "vae", "digits", {**VAE, "steps": "30", "epochs": "0", "eval_every": "3",
                                               **VAE_EVAL})
    assert seen == [3, 6]
    status = json.loads((tmp_path / "run" / "status.json").read_text())
    assert status["state"] == "interrupted" and status["step"] == 6


@pytest.mark.parametrize("overrides, message", [
    ({"eval_every": "5", "eval_metrics": "elbo,nosuch"}, "unknown metric 'nosuch'"),
    ({"eval_every": "5", "best": "nosuch"}, "does not know whether 'nosuch' is better low or high"),
    ({"eval_every": "5", "best": "max:nosuch"}, "unknown metric 'nosuch'"),
    ({"best": "elbo"}, "set eval_every too"),
    ({"eval_every": "5"}, "set eval_metrics"),
    ({"eval_every": "-1", "eval_metrics": "elbo"}, "eval_every"),
])
def test_bad_settings_are_one_line_errors_before_any_file_is_written(tmp_path, overrides, message):
    with pytest.raises(ConfigError, match=message):
        fit(tmp_path, "run", "vae", "digits", {**VAE, "steps": "4", "epochs": "0", **overrides})
    assert not (tmp_path / "run").exists()

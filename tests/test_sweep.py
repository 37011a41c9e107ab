"""genlab sweep: the parameter grammar, grids and random draws, objectives, tables, and a stopped sweep resumed."""

from __future__ import annotations

import csv
import io
import json
import math

import pytest

from genlab.cli import main
from genlab.errors import ConfigError
from genlab.live_eval import listening
from genlab.objective import parse_objective
from genlab.sweep.results import Row, best_row, collect, mean_se, table
from genlab.sweep.space import (check_space, grid, parse_param, parse_params, parse_seeds, random_settings,
                                setting_name)

# ----------------------------------------------------------------------------------------------------
# grammar


def test_lists_and_ranges_parse():
    p = parse_param("beta=1,4,10")
    assert (p.key, p.kind, p.values) == ("beta", "values", ("1", "4", "10"))
    assert parse_param("anneal=choice:none,linear,cyclical").values == ("none", "linear", "cyclical")
    p = parse_param("lr=log:1e-5:1e-3")
    assert (p.kind, p.low, p.high, p.texts) == ("log", 1e-5, 1e-3, ("1e-5", "1e-3"))
    assert parse_param("k=int:1:50").kind == "int" and parse_param("dropout=float:0:0.5").high == 0.5
    assert parse_param("hidden=64x64,128").values == ("64x64", "128")


@pytest.mark.parametrize("text, message", [
    ("beta", "cannot read the sweep parameter 'beta'"),
    ("beta=", "cannot read the sweep parameter"),
    ("lr=log:1e-3:1e-5", "LOW must be below HIGH"),
    ("lr=log:0:1e-3", "a log range needs LOW > 0"),
    ("lr=log:1e-5", "write log:LOW:HIGH"),
    ("k=int:1:2.5", "its ends must be integers"),
    ("lr=float:a:b", "its ends must be numbers"),
    ("lr=flaot:1:2", "unknown range kind 'flaot'"),
    ("beta=1,,4", "has an empty value"),
    ("beta=1,1", "names a value twice"),
    ("seed=0,1", "give the seeds with --seeds"),
    ("lr=float:1:inf", "its ends must be finite"),
])
def test_bad_parameters_are_one_line_errors(text, message):
    with pytest.raises(ConfigError, match=message) as e:
        parse_param(text)
    assert "\n" not in str(e.value)


def test_a_parameter_given_twice_is_an_error():
    with pytest.raises(ConfigError, match="'beta' is given twice"):
        parse_params(["beta=1,2", "beta=4"])


@pytest.mark.parametrize("params, message", [
    (["nosuch=1,2"], "unknown config key 'nosuch'"),
    (["latnet_dim=2,4"], "did you mean 'latent_dim'"),
    (["beta=1,-4"], "sweep parameter beta=-4: invalid value for 'beta': must be >= 0"),
    (["anneal=none,sometimes"], "invalid value 'sometimes' for 'anneal'"),
    (["anneal=float:0:1"], "'anneal' takes one of none, linear, cyclical, so it cannot take a float range"),
    (["latent_dim=float:2:8"], "'latent_dim' is an integer: write latent_dim=int:LOW:HIGH"),
    (["latent_dim=int:0:8"], "sweep parameter latent_dim=0"),
])
def test_keys_and_values_are_checked_against_the_configs(params, message):
    with pytest.raises(ConfigError, match=message) as e:
        check_space("beta-vae", "digits", parse_params(params), {})
    assert "\n" not in str(e.value)


def test_swept_and_fixed_at_once_is_an_error():
    with pytest.raises(ConfigError, match="'beta' is both swept and fixed"):
        check_space("beta-vae", "digits", parse_params(["beta=1,2"]), {"beta": "3"})


def test_grid_takes_every_combination_first_parameter_slowest():
    settings = grid(parse_params(["beta=1,4", "anneal=none,linear,cyclical"]))
    assert settings == [{"beta": b, "anneal": a} for b in ("1", "4") for a in ("none", "linear", "cyclical")]
    with pytest.raises(ConfigError, match="is a range, and a grid needs values"):
        grid(parse_params(["lr=log:1e-5:1e-3"]))


def test_random_settings_are_seeded_distinct_and_within_their_ranges():
    params = parse_params(["lr=log:1e-5:1e-3", "k=int:1:3", "anneal=none,linear", "w=float:0:1"])
    a = random_settings(params, 20, seed=3)
    assert a == random_settings(params, 20, seed=3) and a[:5] == random_settings(params, 5, seed=3)
    assert a != random_settings(params, 20, seed=4)
    assert len({tuple(s.values()) for s in a}) == 20
    for s in a:
        assert 1e-5 <= float(s["lr"]) <= 1e-3 and s["lr"] == f"{float(s['lr']):.3g}"
        assert s["k"] in ("1", "2", "3") and s["anneal"] in ("none", "linear") and 0 <= float(s["w"]) <= 1
    logs = sorted(math.log10(float(s["lr"])) for s in random_settings(params[:1], 200, seed=0))
    assert -4.4 < logs[100] < -3.6  # log-uniform: the median near the middle of the exponents
    with pytest.raises(ConfigError, match="hold only 2 distinct settings"):
        random_settings(parse_params(["anneal=none,linear"]), 3)


def test_setting_names_are_folders_and_never_shared():
    assert setting_name({"beta": "4", "lr": "3e-4"}) == "beta=4,lr=3e-4"
    odd = setting_name({"path": "a/b"})
    assert "/" not in odd and odd.startswith("path=a_b~")
    assert setting_name({"path": "a/b"}) != setting_name({"path": "a_b"})
    assert len(setting_name({"x": "y" * 300})) < 130


def test_seeds():
    assert parse_seeds("0,1,2") == [0, 1, 2]
    for bad in ("", "0,0", "a", "-1"):
        with pytest.raises(ConfigError, match="--seeds"):
            parse_seeds(bad)


# ----------------------------------------------------------------------------------------------------
# objectives and tables


@pytest.mark.parametrize("text, metric, key, direction", [
    ("fid", "fid", "fid", "min"), ("nll", "nll", "nll_nats", "min"), ("elbo", "elbo", "elbo_nats", "max"),
    ("recall", "prdc", "recall", "max"), ("prdc.recall", "prdc", "recall", "max"),
    ("bits_per_dim", "nll", "bits_per_dim", "min"), ("active-units", "active-units", "active_units", "max"),
    ("max:fid", "fid", "fid", "max"), ("min:mine.score", "mine", "score", "min"),
])
def test_objectives(text, metric, key, direction):
    o = parse_objective(text)
    assert (o.metric, o.key, o.direction) == (metric, key, direction)


def test_an_objective_of_unknown_direction_is_an_error():
    with pytest.raises(ConfigError, match="write best=min:mine.score or best=max:mine.score"):
        parse_objective("mine.score")


def test_mean_and_standard_error_over_seeds():
    assert mean_se([1.0, 3.0]) == (2.0, 1.0)  # std 1.414, / sqrt(2)
    assert mean_se([5.0]) == (5.0, None) and mean_se([]) == (None, None)


def test_table_rows_best_setting_and_diverged_seeds():
    a, b = {"beta": "1"}, {"beta": "4"}
    rows = collect([(a, 0, {"fid": {"fid": 10.0, "fid_real": 1.0}}), (a, 1, {"fid": {"fid": 12.0}}),
                    (b, 0, {"fid": {"fid": 8.0}}), (b, 1, None)], [a, b])
    assert [r.seeds for r in rows] == [[0, 1], [0]] and rows[1].diverged == [1]
    assert "fid_real" not in rows[0].values  # floors and a run's own error bars are not averaged
    objective = parse_objective("fid")
    assert best_row(rows, objective) is rows[1]
    t = table(rows, ["beta"], objective, "T", "intro", ["a note"])
    md = t.markdown()
    assert "| 1 | 2 | 0 | 11.0 +- 1.0 |" in md and "| 4 | 1 | 1 | **8** |" in md and "fid ↓" in md
    assert "best setting (fid, lower is better): **beta=4**, fid = 8" in md and "- a note" in md
    records = list(csv.DictReader(io.StringIO(t.csv())))  # the CSV from the same object: raw numbers
    assert records[0] == {"beta": "1", "seeds": "2", "diverged": "0", "fid": "11.0", "fid_se": "1.0"}
    assert records[1] == {"beta": "4", "seeds": "1", "diverged": "1", "fid": "8.0", "fid_se": ""}
    assert best_row([Row({"x": "1"})], objective) is None


def test_the_table_leaves_out_numbers_that_repeat_a_parameter_or_another_column():
    # one stochastic layer: active_z1 is active_units; units_z1 is the latent size, the swept latent_dim
    def results(dim, active):
        return {"elbo": {"elbo_nats": -30.0 - active}, "active-units": {"active_units": active, "active_z1": active,
                                                                       "units_z1": dim}}

    settings = [{"latent_dim": "2"}, {"latent_dim": "8"}]
    rows = collect([(settings[0], 0, results(2, 2)), (settings[0], 1, results(2, 1)),
                    (settings[1], 0, results(8, 5))], settings)
    t = table(rows, ["latent_dim"], parse_objective("elbo"), "T", "intro", [])
    assert t.header == ["latent_dim", "seeds", "diverged", "elbo_nats", "active_units"]
    notes = " ".join(t.notes)
    assert "units_z1: left out, the same as the swept latent_dim" in notes
    assert "active_z1: left out, the same as active_units" in notes
    assert "elbo_nats ↑" in t.markdown() and "active_units ↑" in t.markdown()


# ----------------------------------------------------------------------------------------------------
# sweeps end to end (toy sizes)

TOY = ["vae", "--dataset", "digits", "--metric", "elbo", "--steps", "8", "subset=128", "batch_size=32",
       "hidden=16", "latent_dim=2", "sample_every=0", "log_every=4", "eval_k=2", "eval_n_data=64"]


def sweep(tmp_path, *more):
    return main(["sweep", *TOY, "--out", str(tmp_path / "sweep"), *more])


def outcomes(capsys) -> dict[str, str]:
    """'latent_dim=2 seed 0' -> trained / re-used / resumed, from a sweep's output."""
    found = {}
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("[sweep] ") and "/" in line.split()[1] and ": " in line:
            what, result = line.split(" ", 2)[2].split(": ", 1)
            found[what] = result.split(" ")[0]
    return found


def test_a_stopped_sweep_resumes_and_trains_no_trial_twice(tmp_path, capsys):
    grid_args = ["--grid", "lr=1e-3,3e-3,1e-2", "--eval-every", "4"]
    stops = []

    def stop_the_second(event):  # like Ctrl-C in the second trial, after its first evaluation
        if "lr=3e-3" in str(event.run) and event.step == 4:
            stops.append(event.step)
            return "the test"
        return None

    with listening(stop_the_second):
        assert sweep(tmp_path, *grid_args) == 130
    assert stops == [4]
    assert outcomes(capsys) == {"lr=1e-3 seed 0": "trained"}
    runs = tmp_path / "sweep" / "runs"
    first = json.loads((runs / "lr=1e-3" / "seed-0" / "config.json").read_text())["created"]
    assert json.loads((runs / "lr=3e-3" / "seed-0" / "status.json").read_text())["state"] == "interrupted"

    assert sweep(tmp_path, *grid_args) == 0
    assert outcomes(capsys) == {"lr=1e-3 seed 0": "re-used", "lr=3e-3 seed 0": "resumed", "lr=1e-2 seed 0": "trained"}
    assert json.loads((runs / "lr=1e-3" / "seed-0" / "config.json").read_text())["created"] == first
    for folder in runs.iterdir():
        steps = [r["step"] for r in map(json.loads, (folder / "seed-0" / "metrics.jsonl").read_text().splitlines())
                 if "metric" not in r]
        assert steps == [4, 8], f"{folder.name} logged {steps}: trained twice?"
    with open(tmp_path / "sweep" / "sweep.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["lr"] for r in rows] == ["1e-3", "3e-3", "1e-2"] and all(r["elbo_nats"] for r in rows)
    md = (tmp_path / "sweep" / "sweep.md").read_text()
    assert "best setting (elbo_nats, higher is better)" in md
    assert (tmp_path / "sweep" / "effects.png").stat().st_size > 0 and (tmp_path / "sweep" / "report.html").exists()

    # the same command again trains nothing; other fixed settings are refused, naming the difference
    assert sweep(tmp_path, *grid_args) == 0
    assert set(outcomes(capsys).values()) == {"re-used"}
    assert sweep(tmp_path, *grid_args, "hidden=32") == 2
    assert "holds a run made with other settings: hidden=[16] (now [32])" in capsys.readouterr().err


def test_grid_with_seeds_gives_one_row_per_setting_with_standard_errors(tmp_path, capsys):
    assert sweep(tmp_path, "--grid", "lr=1e-3,3e-3", "--seeds", "0,1", "--metrics", "active-units") == 0
    with open(tmp_path / "sweep" / "sweep.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["lr"], r["seeds"]) for r in rows] == [("1e-3", "2"), ("3e-3", "2")]
    assert all(r["elbo_nats_se"] and r["active_units"] for r in rows)
    assert len(list((tmp_path / "sweep" / "runs").glob("*/seed-*/config.json"))) == 4


@pytest.mark.parametrize("more, message", [
    (["--grid", "nosuch=1,2"], "unknown config key 'nosuch'"),
    ([], "say what to sweep"),
    (["--grid", "lr=1e-3", "--metric", "nosuch"], "does not know whether 'nosuch' is better"),
    (["--grid", "lr=1e-3", "--metrics", "nosuch"], "unknown metric 'nosuch'"),
    (["--grid", "lr=log:1e-4:1e-2"], "is a range, and a grid needs values"),
    (["--grid", "lr=1e-3", "--search", "optuna"], "--search optuna needs --trials N"),
    (["--grid", "lr=1e-3", "--device", "tpu"], "--device 'tpu'"),
    (["--grid", "lr=1e-3", "eval_metrics=nll"], "give the evaluated metrics with --metric"),
])
def test_bad_sweeps_are_one_line_errors(tmp_path, capsys, more, message):
    assert sweep(tmp_path, *more) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "sweep").exists()


def test_random_search_dry_run_lists_its_trials(tmp_path, capsys):
    assert sweep(tmp_path, "--grid", "lr=log:1e-4:1e-2", "--random", "3", "--seeds", "0,1", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "3 setting(s) x 2 seed(s) = 6 trial(s)" in out and out.count("/seed-1") == 3
    assert not (tmp_path / "sweep").exists()


@pytest.mark.slow
def test_parallel_trials_in_their_own_processes(tmp_path, capsys):
    assert sweep(tmp_path, "--grid", "lr=1e-3,3e-3", "--seeds", "0,1", "--jobs", "2") == 0
    assert sorted(outcomes(capsys).values()) == ["trained"] * 4
    states = [json.loads(p.read_text())["state"] for p in (tmp_path / "sweep" / "runs").glob("*/seed-*/status.json")]
    assert states == ["finished"] * 4


def test_sigterm_stops_a_parallel_sweep_and_its_trials_with_checkpoints(tmp_path):
    """`kill` of the sweep stops its trial processes too (each saves a checkpoint and unlocks its run), rather
    than leaving them training with their folders locked against the same command run again."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "sweep"
    cmd = [sys.executable, "-m", "genlab.cli", "sweep", *TOY, "--out", str(out), "--grid", "lr=1e-3,3e-3",
           "--jobs", "2", "--steps", "1000000"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    statuses = [out / "runs" / s / "seed-0" / "status.json" for s in ("lr=1e-3", "lr=3e-3")]

    def states():
        return [json.loads(p.read_text())["state"] if p.exists() else None for p in statuses]

    deadline = time.time() + 120
    while states() != ["running"] * 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.5)
    assert states() == ["running"] * 2, proc.communicate()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "stopped by SIGTERM" in err and "Traceback" not in err
    assert states() == ["interrupted"] * 2  # what each trial's trainer writes once its checkpoint is saved

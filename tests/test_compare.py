"""`genlab compare`'s table from run results made up here (no training): columns ordered by kind, each metric's
direction and scale from the metric registry, the best value marked, real-vs-real floors printed once, columns
chosen with --metrics."""

from __future__ import annotations

import csv
import io

import pytest

from genlab.compare import Estimate, compare
from genlab.errors import ConfigError

SAMPLES = {"features": "raw", "n_real": 100, "n_fake": 100, "seed": 0}


def _run(name: str, fid: float, kid: float, precision: float, nll: float, modes: int) -> dict:
    return {"name": name, "config": {"model": name}, "stale": {}, "evaluation": {
        "custom": {"score": 1.0, "settings": {}},  # a metric the registry does not know: last, no direction
        "modes": {"modes": modes, "num_modes": 8, "hq_percent": 50.0, "settings": {"n": 100}},
        "prdc": {"precision": precision, "recall": 0.5, "density": 1.0, "precision_real": 0.9, "recall_real": 0.9,
                 "density_real": 1.1, "settings": SAMPLES},
        "kid": {"kid": kid, "kid_std": 0.001, "kid_real": 0.0002, "kid_std_real": 0.0001, "settings": SAMPLES},
        "fid": {"fid": fid, "fid_real": 1.25, "settings": SAMPLES},
        "nll": {"nll_nats": nll, "nll_se": 0.5, "bits_per_dim": nll / 1000, "settings": {"k": 10}},
    }}


RUNS = [_run("vae", 40.0, 0.03, 0.6, 90.0, 6), _run("gan", 30.0, 0.02, 0.8, 95.0, 8)]


def test_columns_are_ordered_by_kind_with_directions_scales_and_one_floor_row():
    table = compare(RUNS)
    assert table.header == ["run", "model", "nll_nats", "bits_per_dim", "fid", "fid_real", "kid", "kid_std", "kid_real",
                            "kid_std_real", "precision", "recall", "density", "precision_real", "recall_real",
                            "density_real", "modes", "num_modes", "hq_percent", "score"]
    view = table.shown()
    assert view.labels == ["run", "model", "nll_nats ↓", "bits_per_dim ↓", "fid ↓", "kid ×1000 ↓", "kid_std ×1000",
                           "precision ↑", "recall ↑", "density", "modes ↑", "num_modes", "hq_percent ↑", "score"]
    md = table.markdown()
    assert "| vae | vae | **90.0 +- 0.5** | **0.09** | 40 | 30 | 1 | 0.6 | 0.5 | 1 | 6 | 8 | 50 | 1 |" in md
    assert "| gan | gan | 95.0 +- 0.5 | 0.095 | **30** | **20** | 1 | **0.8** | 0.5 | 1 | **8** | 8 | 50 | 1 |" in md
    assert "| *real vs real* |  |  |  | 1.25 | 0.2 | 0.1 | 0.9 | 0.9 | 1.1 |  |  |  |  |" in md
    assert sum("real vs real" in line for line in md.splitlines() if line.startswith("|")) == 1
    assert any(n.startswith("kid, kid_std: shown multiplied") for n in table.shown().notes)
    # the CSV: every column, raw numbers, the standard error beside its estimate
    rows = list(csv.DictReader(io.StringIO(table.csv())))
    assert rows[0]["kid"] == "0.03" and rows[1]["fid_real"] == "1.25" and rows[0]["nll_nats_se"] == "0.5"
    assert "**" not in table.csv() and "nll_se" not in rows[0]
    assert table.rows[0][2] == Estimate(90.0, 0.5)


def test_metrics_chooses_metrics_or_numbers_in_the_asked_order():
    table = compare(RUNS, ["precision", "fid"])
    assert table.header == ["run", "model", "precision", "precision_real", "fid", "fid_real"]
    assert table.shown().labels == ["run", "model", "precision ↑", "fid ↓"]
    notes = table.notes
    assert notes[0].startswith("prdc: ") and notes[1].startswith("fid: ") and len(notes) == 2  # only the chosen
    assert compare(RUNS, ["kid"]).header[2:] == ["kid", "kid_std", "kid_real", "kid_std_real"]
    with pytest.raises(ConfigError) as e:
        compare(RUNS, ["fid", "nope"])
    message = str(e.value)
    assert "'nope'" in message and "fid (fid)" in message and "prdc (precision, recall, density)" in message
    assert "\n" not in message and "precision_real" not in message


def test_a_floor_that_differs_between_runs_stays_a_column_and_split_columns_mark_their_own_best():
    runs = [_run("vae", 40.0, 0.03, 0.6, 90.0, 6), _run("gan", 30.0, 0.02, 0.8, 95.0, 8),
            _run("aae", 20.0, 0.01, 0.7, 80.0, 7)]
    runs[2]["evaluation"]["fid"] = {"fid": 20.0, "fid_real": 2.5, "settings": {**SAMPLES, "n_real": 50}}
    runs[1]["evaluation"]["prdc"]["precision_real"] = 0.8
    view = compare(runs, ["fid", "precision"]).shown()
    assert view.columns == ["run", "model", "fid [a]", "fid [b]", "precision", "precision_real"]
    assert view.floor[2] == 1.25 and view.floor[3] == 2.5  # each group's floor under its own column
    assert view.best[2] == {1} and view.best[3] == set()  # fid [b] holds one run: nothing to compare it with


def test_a_scale_applies_only_where_it_makes_small_numbers_readable():
    """KID in the domain classifier's features can pass 100: x1000 would print it with six digits."""
    runs = [_run("vae", 40.0, 156.5, 0.6, 90.0, 6), _run("gan", 30.0, 4.79, 0.8, 95.0, 8)]
    view = compare(runs, ["kid"]).shown()
    assert view.labels == ["run", "model", "kid ↓", "kid_std ×1000"]  # kid_std (0.001) is still scaled
    md = compare(runs, ["kid"]).markdown()
    assert "| vae | vae | 156.5 | 1 |" in md and "| gan | gan | **4.79** | 1 |" in md
    assert "| *real vs real* |  | 0.0002 | 0.1 |" in md  # each floor at the scale of the column it sits under

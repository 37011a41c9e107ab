"""Known answers for the VEEGAN mode-coverage statistics (genlab.metrics.modes) and the `modes` metric."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from genlab.cli import main
from genlab.data.toy import MIXTURES
from genlab.metrics.modes import mode_coverage

RING = MIXTURES["ring8"]["modes"]()
GRID = MIXTURES["grid25"]["modes"]()


def test_samples_on_every_mode_evenly():
    x = np.repeat(GRID, 4, axis=0)  # 100 samples, 4 exactly on each of the 25 modes
    r = mode_coverage(x, GRID, 0.05)
    assert r["modes"] == 25 and r["num_modes"] == 25 and r["hq"] == 100
    assert r["hq_percent"] == pytest.approx(100.0)
    assert r["reverse_kl"] == pytest.approx(0.0, abs=1e-12)
    assert r["per_mode"] == [4] * 25


def test_collapse_onto_one_mode_gives_log_k():
    x = RING[3] + np.zeros((50, 2))
    r = mode_coverage(x, RING, 0.02)
    assert r["modes"] == 1 and r["per_mode"][3] == 50
    assert r["reverse_kl"] == pytest.approx(math.log(8))


def test_high_quality_means_within_three_standard_deviations():
    std = 0.02
    direction = np.array([0.6, 0.8])  # unit vector
    inside = RING[0] + 2.99 * std * direction
    outside = RING[0] + 3.01 * std * direction
    r = mode_coverage(np.stack([inside, outside, outside]), RING, std)
    assert r["hq"] == 1 and r["modes"] == 1
    assert r["hq_percent"] == pytest.approx(100 / 3)


def test_two_modes_in_proportion_three_to_one():
    x = np.concatenate([np.repeat(RING[:1], 30, 0), np.repeat(RING[1:2], 10, 0), np.full((60, 2), 10.0)])
    r = mode_coverage(x, RING, 0.02)
    h = np.array([0.75, 0.25])
    assert r["modes"] == 2 and r["hq"] == 40 and r["hq_percent"] == pytest.approx(40.0)
    assert r["reverse_kl"] == pytest.approx(float(np.sum(h * np.log(8 * h))))


def test_no_high_quality_sample_reports_the_most_collapsed_value():
    r = mode_coverage(np.full((10, 2), 100.0), RING, 0.02)
    assert r["modes"] == 0 and r["hq"] == 0 and r["hq_percent"] == 0.0
    assert r["reverse_kl"] == pytest.approx(math.log(8))


def test_the_data_itself_scores_full_marks():
    from genlab.data.toy import sample_mixture

    for name in ("ring8", "grid25"):
        x, _ = sample_mixture(name, 2500, seed=0)
        m = MIXTURES[name]
        r = mode_coverage(x, m["modes"](), m["std"])
        assert r["modes"] == len(m["modes"]())
        assert 99.0 < r["hq_percent"] <= 100.0  # 3 std in 2-D holds 98.9% of a Gaussian
        assert r["reverse_kl"] < 0.02
        assert r["voronoi_cells"] == len(m["modes"]()) and r["voronoi_kl"] < 0.02


@pytest.mark.slow
def test_modes_metric_through_the_cli(tmp_path, capsys):
    ring, digits = tmp_path / "ring", tmp_path / "digits"
    for out, data in ((ring, "ring8"), (digits, "digits")):
        code = main(["train", "gan", "--dataset", data, "--out", str(out), "--steps", "3", "hidden=8",
                     "noise_dim=2", "batch_size=16", "subset=64"])
        assert code == 0
    capsys.readouterr()
    assert main(["evaluate", str(ring), "--metrics", "modes", "--n", "500"]) == 0
    printed = capsys.readouterr().out  # the JSON, then a line saying the run's page was updated
    result = json.JSONDecoder().raw_decode(printed)[0]["modes"]
    assert result["n"] == 500 and result["num_modes"] == 8 and 0 <= result["modes"] <= 8
    assert json.loads((ring / "evaluation.json").read_text())["modes"]["settings"]["dataset"] == "ring8"
    assert main(["evaluate", str(digits), "--metrics", "modes"]) == 2
    err = capsys.readouterr().err
    assert "ring8" in err and "grid25" in err and "'digits'" in err and "Traceback" not in err


def _kt_kl(cells, n):
    k = len(cells)
    h = (np.asarray(cells) + 0.5) / (n + 0.5 * k)
    return float(np.mean(np.log(1 / (k * h))))


def test_voronoi_counts_every_sample_however_blurred():
    # 4 samples per mode, each pushed 10 std away from it (none high quality) but still nearest to it
    x = np.repeat(GRID, 4, axis=0) + np.array([0.5, 0.0])
    r = mode_coverage(x, GRID, 0.05)
    assert r["hq"] == 0 and r["modes"] == 0
    assert r["voronoi_cells"] == 25 and r["per_cell"] == [4] * 25
    assert r["voronoi_kl"] == pytest.approx(0.0, abs=1e-12)  # an even histogram is the uniform one


def test_voronoi_half_share_threshold_and_missed_cell_cost():
    n = 800  # uniform share 100 per ring cell; half share 50
    counts = [150, 100, 100, 100, 101, 150, 50, 49]
    assert sum(counts) == n
    x = np.concatenate([np.repeat(RING[i:i + 1], c, 0) for i, c in enumerate(counts)])
    r = mode_coverage(x, RING, 0.02)
    assert r["per_cell"] == counts and r["voronoi_cells"] == 7  # 49 < 50 misses its half share, 50 does not
    assert r["voronoi_kl"] == pytest.approx(_kt_kl(counts, n))
    collapsed = mode_coverage(np.repeat(RING[:1], 2500, 0), RING, 0.02)
    assert collapsed["voronoi_cells"] == 1
    # one cell holding everything: 7 cells at 1/2 sample each, one at 2500.5, out of n + K/2
    h_full, h_empty = 2500.5 / 2504, 0.5 / 2504
    expected = (math.log(1 / (8 * h_full)) + 7 * math.log(1 / (8 * h_empty))) / 8
    assert collapsed["voronoi_kl"] == pytest.approx(expected)

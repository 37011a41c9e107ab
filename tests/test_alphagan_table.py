"""`genlab reproduce alphagan-table` end to end at toy size on the embedded color-digits: runs, the talk's
metrics (IS, within-class diversity, the critic on training and held-out images), table, CSV, re-use."""

from __future__ import annotations

import csv

import pytest
import torch

from genlab.cli import main
from genlab.metrics import classifier
from genlab.metrics.ssim import within_class_diversity
from genlab.reproduce.alphagan_table import checks


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(classifier.RECIPES, "color-digits",
                        classifier.Recipe(epochs=1, min_steps=30, widths=(8, 16, 16), features=32))


@pytest.mark.slow
def test_reproduce_alphagan_table_at_toy_size(tmp_path, capsys, cache):
    out = tmp_path / "ag"
    argv = ["reproduce", "alphagan-table", "--dataset", "color-digits", "--steps", "20", "--n", "60",
            "--critic-steps", "3", "--out", str(out), "--device", "cpu"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.count("] training ") == 3
    md = (out / "table.md").read_text()
    assert "## color-digits: checks" in md and "| color-digits | alphagan |" in md and "| real data |" in md
    assert "wall time" in md
    rows = {r["model"]: r for r in csv.DictReader(open(out / "table.csv"))}
    assert set(rows) == {"dcgan", "wgan-gp", "alphagan", "real data"}
    for name in ("dcgan", "wgan-gp", "alphagan"):
        r = rows[name]
        assert float(r["IS"]) >= 1 and 0 < float(r["1-MS-SSIM within class"]) <= 1 and float(r["FID"]) >= 0
        assert r["critic, held-out"] != "" and r["critic, training"] != ""
    assert rows["real data"]["critic, training"] != "" and float(rows["real data"]["IS"]) >= 1
    assert (out / "color-digits" / "samples.png").stat().st_size > 0
    assert main(argv) == 0  # a second call re-uses every run
    assert capsys.readouterr().out.count("re-using") == 3


def test_within_class_diversity_averages_over_classes():
    a = torch.rand(1, 1, 16, 16)
    same = a.repeat(4, 1, 1, 1)  # class 0: four copies of one image, no diversity
    varied = torch.rand(4, 1, 16, 16)  # class 1: independent noise, diverse
    x = torch.cat([same, varied])
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    out = within_class_diversity(x, labels, 3)  # class 2 is empty: left out of the mean
    assert out["per_class"][0] == pytest.approx(0.0, abs=1e-9) and out["per_class"][2] is None
    assert out["classes_used"] == 2 and out["diversity"] == pytest.approx(out["per_class"][1] / 2)
    assert 0.5 < out["per_class"][1] <= 1  # noise images share little structure
    # mixing the classes' images makes pairs across classes: the overall number differs from the within-class one
    assert within_class_diversity(x, torch.zeros(8, dtype=torch.long), 1)["diversity"] != out["diversity"]


def test_the_checks_read_the_numbers():
    def ev(classes, critic, critic_other, critic_real=0.01):
        return {"classes": {"classes": classes, "classes_real": 10},
                "critic": {"critic": critic, "critic_other": critic_other, "critic_real": critic_real}}

    ok = {"dcgan": ev(10, 0.5, 0.48), "alphagan": ev(10, 0.4, 0.41)}
    assert all(good for _, good in checks(ok, list(ok), ("classes", "no-overfitting", "critic-floor")))
    bad = {"dcgan": ev(9, 0.5, 0.1), "alphagan": ev(10, 0.005, 0.0)}
    failed = [t for t, good in checks(bad, list(bad), ("classes", "no-overfitting", "critic-floor")) if not good]
    assert len(failed) == 3


def _results(scale: float) -> dict:
    """One model's evaluation as the reproduction reads it, numbers made up (no training)."""
    return {"is": {"is": 2.0 * scale, "is_real": 9.5}, "diversity": {"diversity": 0.3, "diversity_real": 0.35},
            "critic": {"critic": 0.5 / scale, "critic_other": 0.49 / scale, "critic_real": 0.01,
                       "critic_other_real": 0.02},
            "fid": {"fid": 40.0 / scale, "fid_real": 1.0, "settings": {"features": "classifier", "features_id": "c-1"}},
            "classes": {"classes": 10, "class_kl": 0.1, "classes_real": 10, "class_kl_real": 0.01}}


def test_the_table_is_one_compare_table_with_a_row_per_dataset_and_model():
    from pathlib import Path
    from types import SimpleNamespace

    from genlab.compare import Table
    from genlab.reproduce.alphagan_table import PROTOCOLS, Setting, table

    names = ["dcgan", "alphagan"]
    proto = PROTOCOLS["quick"]
    sections = [(Setting(d, {n: {"noise_dim": "64"} for n in names}), {"dcgan": _results(1), "alphagan": _results(2)},
                 Path(f"{d}/samples.png")) for d in ("color-digits", "color-mnist")]
    args = SimpleNamespace(preset="quick", seed=0)
    t = table(sections, names, args, proto, {"epochs": "2", "steps": "0"}, 60, 5, 90.0)
    assert isinstance(t, Table) and [r[:2] for r in t.rows] == [
        ["color-digits", "dcgan"], ["color-digits", "alphagan"], ["color-digits", "real data"],
        ["color-mnist", "dcgan"], ["color-mnist", "alphagan"], ["color-mnist", "real data"]]
    md = t.markdown()
    assert "| dataset | model | IS (higher) | 1-MS-SSIM within class (as real) |" in md
    assert "| color-digits | alphagan | 4.00 | 0.300 | 0.250 | 0.245 | 20.0 | 10 | 0.100 |" in md
    assert "| color-digits | real data | 9.50 | 0.350 | 0.010 | 0.020 | 1.0 | 10 | 0.010 |" in md
    assert "## color-mnist: checks (computed from the rows above)" in md and md.count("- [x]") == 6
    assert "Features: classifier (c-1); samples: samples.png" in md and "- wall time: 1.5 min" in md
    rows = list(csv.DictReader(t.csv().splitlines()))  # the CSV from the same object: raw numbers
    assert rows[1]["model"] == "alphagan" and rows[1]["IS"] == "4.0" and rows[2]["critic, training"] == "0.02"

"""genlab reproduce beta-ablation: the checks computed from the table, and a toy ablation end to end."""

from __future__ import annotations

import csv

import pytest

from genlab.cli import main
from genlab.reproduce.beta_ablation import checks, monotone, patterns
from genlab.sweep.results import Row


def row(beta: str, anneal: str, kl: list[float], au: list[float]) -> Row:
    return Row({"beta": beta, "anneal": anneal}, {"kl_nats": kl, "active_units": au}, seeds=list(range(len(kl))))


def test_a_falling_kl_passes_and_a_rise_beyond_the_standard_errors_fails():
    rows = [row("1", "none", [20, 22], [10, 10]), row("4", "none", [10, 12], [6, 8]),
            row("8", "none", [11.5, 12.5], [9, 9])]  # KL 12 after 11: a rise within the SEs (1 and 0.5)
    assert [ok for _, ok in checks(rows)] == [True, False]  # KL falls (within SE); active units rise 7 -> 9 (SE 1, 0)
    kl = monotone(rows, "kl_nats")
    assert [(a, b, ok) for a, b, _, _, ok in kl] == [("1", "4", True), ("4", "8", True)]
    au_text = [text for text, _ in checks(rows) if "active units" in text][0]
    assert "broken at beta 4 -> 8" in au_text


def test_checks_are_per_schedule_and_in_increasing_beta():
    rows = [row("8", "linear", [5], [3]), row("0.5", "linear", [30], [16]), row("2", "linear", [15], [12]),
            row("2", "cyclical", [15], [12]), row("0.5", "cyclical", [10], [16])]  # cyclical: KL rises with beta
    found = checks(rows)
    assert [(t.split(":")[0], ok) for t, ok in found] == [("anneal=linear", True), ("anneal=linear", True),
                                                          ("anneal=cyclical", False), ("anneal=cyclical", True)]
    assert "30 -> 15 -> 5" in found[0][0]


def test_patterns_name_where_each_number_is_best():
    rows = [row("1", "none", [20, 22], [10, 10]), row("4", "none", [10, 12], [6, 8])]
    rows[0].values["nll_nats"] = [300.0, 302.0]
    rows[1].values["nll_nats"] = [310.0, 312.0]
    text = patterns(rows)
    assert "NLL (nats): best at beta=1, anneal=none (301; lower is better)" in text
    assert "active units: best at beta=1, anneal=none (10; higher is better)" in text


@pytest.mark.slow
def test_a_toy_ablation_on_digits_writes_its_table_checks_and_figures(tmp_path, capsys):
    out = tmp_path / "ab"
    argv = ["reproduce", "beta-ablation", "--dataset", "digits", "--betas", "0.5,8", "--anneals", "none,linear",
            "--seeds", "0,1", "--epochs", "2", "--eval-k", "20", "--eval-n", "200", "--out", str(out)]
    assert main(argv) == 0
    md = (out / "table.md").read_text()
    assert md.count("- [x]") + md.count("- [ ]") == 4  # KL and active units, per schedule
    records = list(csv.DictReader((out / "table.csv").open()))
    assert [(r["beta"], r["anneal"], r["seeds"]) for r in records] == [
        ("0.5", "none", "2"), ("0.5", "linear", "2"), ("8", "none", "2"), ("8", "linear", "2")]
    for r in records:
        assert {"nll_nats", "kl_nats", "active_units", "fid"} <= set(r) and float(r["kl_nats"]) > 0
    for name in ("effects.png", "effects-kl-nats.png", "effects-active-units.png", "effects-fid.png", "report.html"):
        assert (out / name).stat().st_size > 0
    # a second call re-uses every run
    capsys.readouterr()
    assert main(argv) == 0
    assert capsys.readouterr().out.count(": re-used (") == 8


def test_the_table_is_a_compare_table_with_labels_estimates_and_the_checks_as_sections():
    from types import SimpleNamespace

    from genlab.compare import Estimate, Table
    from genlab.objective import parse_objective
    from genlab.reproduce.beta_ablation import PROTOCOLS, table
    from genlab.sweep.space import parse_params

    rows = [row("0.5", "none", [20, 22], [10, 10]), row("8", "none", [10, 12], [6, 8])]
    for r, nll in zip(rows, ([300.0, 302.0], [310.0, 312.0])):
        r.values["nll_nats"] = nll
        r.values["units_z1"] = [16.0, 16.0]  # not a column of the ablation: left out
    sweep = SimpleNamespace(fixed={"epochs": "2", "eval_k": "20", "eval_n_data": "200"}, seeds=[0, 1], jobs=1, devices=["cpu"],
                            params=parse_params(["beta=0.5,8", "anneal=none"]), objective=parse_objective("nll"))
    args = SimpleNamespace(dataset="digits", preset="quick")
    t = table(rows, sweep, args, PROTOCOLS["quick"], 60.0)
    assert isinstance(t, Table) and t.header == ["beta", "anneal", "seeds", "diverged", "nll_nats", "active_units",
                                                 "kl_nats"]
    assert t.rows[0][4] == Estimate(301.0, 1.0) and t.rows[1][2] == 2
    md = t.markdown()
    assert "| beta | anneal | seeds | diverged | NLL (nats) ↓ | active units ↑ | KL term (nats) |" in md
    assert "| 0.5 | none | 2 | 0 | **301.0 +- 1.0** |" in md  # the best NLL in bold
    assert "## What theory guarantees (computed checks)" in md and md.count("- [x]") == 2
    assert "## Other patterns, as measured (not checks)" in md and "NLL (nats): best at beta=0.5" in md
    assert "wall time: 1.0 min" in md
    assert t.csv().splitlines()[0] == ("beta,anneal,seeds,diverged,nll_nats,nll_nats_se,active_units,active_units_se,"
                                       "kl_nats,kl_nats_se")

"""`genlab reproduce mode-collapse` end to end at toy length: run directories, table, CSV, pictures, re-use."""

from __future__ import annotations

import csv
import json

import pytest

from genlab.cli import main
from genlab.reproduce import mean_se
from genlab.reproduce.mode_collapse import ENTRIES


def test_mean_and_standard_error():
    mean, se = mean_se([1.0, 2.0, 3.0])
    assert mean == 2.0 and abs(se - (1.0 / 3) ** 0.5) < 1e-12
    assert mean_se([5.0]) == (5.0, 0.0)


@pytest.mark.slow
def test_reproduce_mode_collapse_at_toy_length(tmp_path, capsys):
    out = tmp_path / "mc"
    argv = ["reproduce", "mode-collapse", "--models", "gan,fgan-kl,fgan-reverse-kl", "--steps", "3", "--seeds", "2",
            "--out", str(out)]
    assert main(argv + ["--jobs", "2"]) == 0  # runs in two worker processes
    printed = capsys.readouterr().out
    assert printed.count("trained") == 12
    for name in ("gan", "fgan-kl", "fgan-reverse-kl"):
        for d in ("ring8", "grid25"):
            for s in (0, 1):
                assert (out / "runs" / f"{name}-{d}-s{s}" / "evaluation.json").exists()
        assert (out / f"samples-{name}.png").stat().st_size > 0
    md = (out / "mode_collapse.md").read_text()
    assert "| fgan-kl |" in md and "PacGAN4" in md and "## Checks" in md and "reverse KL has more high-quality" in md
    assert "cells /8" in md and "forward KL spreads" in md
    rows = list(csv.DictReader(open(out / "mode_collapse.csv")))
    ours = [r for r in rows if r["source"] == "genlab"]
    assert len(ours) == 6 and all(r["seeds"] == "2" for r in ours)
    assert {r["model"] for r in rows if r["source"] == "published"} >= {"VEEGAN", "PacGAN4"}
    assert all(0 <= float(r["modes_mean"]) <= 25 for r in ours)
    # a second call re-uses every finished run
    assert main(argv + ["--jobs", "1"]) == 0
    assert capsys.readouterr().out.count("re-used") == 12
    # a run trained in this process scores exactly as the same run trained in a worker
    one = tmp_path / "one"
    assert main(["reproduce", "mode-collapse", "--models", "gan", "--datasets", "ring8", "--steps", "3", "--seeds", "1",
                 "--jobs", "1", "--out", str(one)]) == 0
    def scores(root):
        ev = json.loads((root / "runs" / "gan-ring8-s0" / "evaluation.json").read_text())["modes"]
        return {k: v for k, v in ev.items() if k != "settings"}

    assert scores(one) == scores(out)
    # a run made with other settings (here another length) is refused, not re-used under the wrong label
    code = main([a if a != "3" else "4" for a in argv])
    err = capsys.readouterr().err
    assert code == 2 and "other settings" in err and "steps=3 (now 4)" in err


def test_unknown_entries_are_a_clear_error(tmp_path, capsys):
    code = main(["reproduce", "mode-collapse", "--models", "gan,nosuch", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and "nosuch" in err and all(e in err for e in ENTRIES)


def test_the_vae_checks_are_computed_from_the_rows():
    """The VAE's ring8 checks pass when its rows say so and fail when they do not (never written in advance)."""
    from genlab.reproduce.mode_collapse import checks

    def rows(vae_cells, vae_kl):
        row = {"source": "genlab", "dataset": "ring8", "modes_mean": 1.0, "hq_percent_mean": 1.0}
        return [{**row, "model": "vae", "voronoi_cells_mean": vae_cells, "voronoi_kl_mean": vae_kl},
                {**row, "model": "gan-lr2e-4", "voronoi_cells_mean": 1.33, "voronoi_kl_mean": 5.08}]

    def vae_checks(r):
        return [ok for text, ok in checks(r, ["gan-lr2e-4", "vae"], ["ring8"], "quick") if "VAE" in text]

    assert vae_checks(rows(8.0, 0.006)) == [True, True]
    assert vae_checks(rows(7.67, 0.1)) == [False, True]
    assert vae_checks(rows(1.0, 6.0)) == [False, False]


def test_a_run_from_before_a_setting_existed_is_reused(tmp_path):
    """A setting added to genlab after a run was made is absent from its config.json: the run was trained as its
    default, so it is the same run (a setting that differs is still refused)."""
    import pytest

    from genlab.api import make_configs
    from genlab.config import to_dict
    from genlab.errors import ConfigError
    from genlab.reproduce import check_same_settings

    cfgs = make_configs("gan", "ring8", {"steps": "3"})
    saved = {"model": "gan", "preset": None, "train": to_dict(cfgs["train"]), "data": to_dict(cfgs["data"]),
             "model_config": to_dict(cfgs["model"])}
    del saved["train"]["eval_split"]  # as written by a genlab without evaluation during training
    (tmp_path / "config.json").write_text(json.dumps(saved))
    check_same_settings(tmp_path, "gan", "ring8", {"steps": "3"})
    with pytest.raises(ConfigError, match="steps=3 \\(now 4\\)"):
        check_same_settings(tmp_path, "gan", "ring8", {"steps": "4"})


def test_the_table_is_a_compare_table_with_estimates_checks_and_settings():
    import argparse

    from genlab.compare import Estimate, Table
    from genlab.reproduce.mode_collapse import PRESETS, STATS, summarize, table

    entries, datasets = ["gan", "fgan-kl"], ["ring8", "grid25"]
    ev = {s: 1.0 for s in STATS}
    results = {(n, d): [ev, {**ev, "modes": 3.0}] for n in entries for d in datasets}
    results[("gan", "ring8")] = [ev]  # one of two seeds diverged
    rows = summarize(results, entries, datasets, steps=10, seeds=2)
    args = argparse.Namespace(preset="quick", jobs=1, threads=1)
    doc = table(rows, entries, datasets, args, PRESETS["quick"], 2, 10, 0.5)
    assert isinstance(doc, Table)
    gan = doc.rows[0]
    assert gan[0] == "gan" and isinstance(gan[2], Estimate) and gan[2].note == "1 of 2 seeds diverged"
    assert doc.rows[1][2] == Estimate(2.0, 1.0)  # fgan-kl ring8 modes: mean and standard error of 1 and 3
    md = doc.markdown()
    assert md.startswith("# Mode collapse on 2-D mixtures") and "| ring8 modes /8 |" in md and "grid25 cells /25" in md
    assert "| fgan-kl | 10 | 2.00 +- 1.00 |" in md and "1.00 +- 0.00 (1 of 2 seeds diverged)" in md
    assert "| *PacGAN4* (published) | - | 7.8 | 95.9 |" in md
    assert "## Checks (computed from the rows above)" in md and "## Settings" in md and "- preset: " in md
    assert doc.csv().splitlines()[0].startswith("model,steps,ring8 modes,ring8 modes_se,")

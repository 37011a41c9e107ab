"""`genlab reproduce defaults`: the families read from the model classes, the models left out with their reason,
the training time read from a run's metrics, issue 24's checks computed from the numbers (they pass and fail
with them), the table's rows, columns and floor row, and one toy end-to-end run through the CLI with re-use."""

from __future__ import annotations

import argparse
import csv
import json

import pytest

import genlab.models  # noqa: F401  (registers every built-in model)
from genlab.cli import main
from genlab.data.base import DataInfo
from genlab.reproduce.defaults import (PRESETS, Job, Result, checks, family, not_applicable, table,
                                       training_seconds)

RING = DataInfo("ring8", "points", (2,), 8, "01", False)
GRID = DataInfo("grid25", "points", (2,), 25, "01", False)
IMAGES = DataInfo("fashion-mnist", "image", (1, 28, 28), 10, "01", False)
UNLABELLED = DataInfo("mine", "image", (1, 28, 28), 0, "01", False)
PAIRS = DataInfo("digits-inverted", "image", (1, 8, 8), 10, "01", False, domains=2)
INFOS = {"ring8": RING, "grid25": GRID, "fashion-mnist": IMAGES}


def test_families_are_read_from_the_model_classes():
    from genlab.registry import MODELS

    known = {"GAN": ("gan", "dcgan", "wgan-gp", "fgan", "unrolled", "cgan"),
             "hybrid": ("aae", "bigan", "alphagan", "vaegan"), "VAE": ("vae", "iwae", "beta-vae", "cvae", "vr")}
    assert {m: family(MODELS.get(m)) for names in known.values() for m in names} == \
        {m: f for f, names in known.items() for m in names}


def test_a_model_that_cannot_train_on_a_dataset_is_left_out_with_the_reason():
    from genlab.registry import MODELS

    assert "two domains" in not_applicable(MODELS.get("cyclegan"), IMAGES)
    assert "one domain" in not_applicable(MODELS.get("gan"), PAIRS)
    assert "labels" in not_applicable(MODELS.get("cgan"), UNLABELLED)
    assert not_applicable(MODELS.get("cgan"), RING) == "" and not_applicable(MODELS.get("vae"), UNLABELLED) == ""


def test_the_training_time_is_the_last_training_row_of_the_metrics(tmp_path):
    rows = [{"step": 50, "epoch": 0.5, "time": 10.0, "loss": 1.0}, {"step": 100, "epoch": 1.0, "time": 21.5},
            {"step": 100, "epoch": 1.0, "time": 99.0, "metric": "fid", "fid": 3.0}]  # an eval row: not training
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert training_seconds(tmp_path) == 21.5
    assert training_seconds(tmp_path / "none") is None


def result(model: str, dataset: str, seed: int = 0, **numbers) -> Result:
    kind = INFOS[dataset].kind
    job = Job(model, dataset, kind, seed, f"runs/{model}-{dataset}-s{seed}", {}, 10, "cpu", None)
    if numbers.get("diverged"):
        return Result(job, "diverged", None, "diverged")
    base = {"minutes": 2.0, "steps": 100}
    base.update({"modes": INFOS[dataset].num_classes, "hq_percent": 90.0} if kind == "points" else
                {"fid": 30.0, "fid_real": 2.0, "classes": 10, "classes_real": 10})
    return Result(job, "trained", {**base, **numbers}, "", "3 epochs = 100 steps at batch 64")


FAMILIES = {"gan": "GAN", "wgan-gp": "GAN", "alphagan": "hybrid", "vae": "VAE"}
MODELS = list(FAMILIES)
DATASETS = list(INFOS)


def measured(**changes) -> dict:
    """Every model meeting every target on every dataset, two seeds each, except `changes`:
    {(model, dataset): [numbers of seed 0, numbers of seed 1]}."""
    out = {(m, d): [result(m, d, 0), result(m, d, 1)] for m in MODELS for d in DATASETS}
    for (m, d), seeds in changes.get("at", {}).items():
        out[(m, d)] = [result(m, d, s, **numbers) for s, numbers in enumerate(seeds)]
    return out


def verdicts(results: dict, models=MODELS, datasets=DATASETS, skipped=None) -> dict[str, bool]:
    return {text.split(" (")[0]: ok for text, ok in checks(results, models, FAMILIES, datasets, INFOS, skipped or {})}


def test_the_checks_pass_and_fail_with_the_numbers():
    every = verdicts(measured())
    assert len(every) == 5 and all(every.values())
    # the mean over seeds counts: 8 and 5 ring modes make 6.5 < 7
    low = verdicts(measured(at={("wgan-gp", "ring8"): [{"modes": 8}, {"modes": 5}]}))
    assert [k for k, ok in low.items() if not ok] == ["ring8: every GAN-family model and hybrid captures >= 7 of 8 "
                                                     "modes with >= 50% high-quality samples"]
    assert not verdicts(measured(at={("alphagan", "ring8"): [{"hq_percent": 40.0}, {"hq_percent": 55.0}]}))[
        "ring8: every GAN-family model and hybrid captures >= 7 of 8 modes with >= 50% high-quality samples"]
    # a VAE is not held to the GAN family's targets
    assert all(verdicts(measured(at={("vae", "grid25"): [{"modes": 3}, {"modes": 3}]})).values())
    assert not verdicts(measured(at={("gan", "grid25"): [{"modes": 19}, {"modes": 20}]}))[
        "grid25: every GAN-family model and hybrid captures >= 20 of 25 modes"]
    # a diverged seed fails its model
    assert not verdicts(measured(at={("gan", "grid25"): [{}, {"diverged": True}]}))[
        "grid25: every GAN-family model and hybrid captures >= 20 of 25 modes"]
    # any model's longest run on points counts, the VAE's too; image runs do not
    assert not verdicts(measured(at={("vae", "ring8"): [{}, {"minutes": 5.5}]}))[
        "no run on points trains longer than 5 minutes"]
    assert all(verdicts(measured(at={("vae", "fashion-mnist"): [{"minutes": 50.0}, {}]})).values())
    assert not verdicts(measured(at={("vae", "fashion-mnist"): [{}, {"classes": 9}]}))[
        "fashion-mnist: every model's samples hold all 10 classes, in every seed"]
    # the best of the GAN family (no encoder) under 40: the hybrids' and the VAE's FID do not count
    def best_gan(fids: dict[str, float]) -> list[tuple[str, bool]]:
        at = {(m, "fashion-mnist"): [{"fid": f}, {"fid": 2 * 40.0 - f}] for m, f in fids.items()}
        return [(text, ok) for text, ok in checks(measured(at=at), MODELS, FAMILIES, DATASETS, INFOS, {})
                if "best GAN" in text]

    [(text, ok)] = best_gan({"gan": 45.0, "wgan-gp": 60.0, "alphagan": 20.0, "vae": 10.0})
    assert not ok and "gan, 40.0" in text  # the mean of 45 and 35: not under 40
    [(text, ok)] = best_gan({"gan": 45.0, "wgan-gp": 41.0})
    assert not ok and text.startswith("fashion-mnist: the best GAN at its defaults scores FID < 40: gan, 40.0")
    assert best_gan({"gan": 45.0, "wgan-gp": 60.0})[0][1] is False
    at = {(m, "fashion-mnist"): [{"fid": f}, {"fid": f}] for m, f in (("gan", 45.0), ("wgan-gp", 39.5))}
    assert verdicts(measured(at=at))["fashion-mnist: the best GAN at its defaults scores FID < 40: wgan-gp, 39.5"]
    # no GAN-family model measured: no check of theirs is written (it would pass with nothing measured)
    only_vae = verdicts(measured(), models=["vae"])
    assert not any("GAN" in k for k in only_vae) and len(only_vae) == 2


def test_the_table_has_a_row_per_model_columns_per_dataset_the_floor_and_the_checks():
    results = measured(at={("gan", "ring8"): [{"modes": 7}, {"diverged": True}]})
    results[("cyclegan", "ring8")] = results[("cyclegan", "grid25")] = results[("cyclegan", "fashion-mnist")] = []
    skipped = {("cyclegan", d): "it translates between two domains; the data holds one" for d in DATASETS}
    args = argparse.Namespace(preset="quick", jobs=1, threads=None)
    doc = table(results, MODELS + ["cyclegan"], {**FAMILIES, "cyclegan": "GAN"}, DATASETS, INFOS, skipped, args,
                PRESETS["quick"], 2, 3, 0, "cpu", 1.5)
    md = doc.markdown()
    assert [r[0] for r in doc.rows] == MODELS + ["cyclegan"]
    for label in ("ring8 modes /8", "ring8 % HQ", "ring8 train min", "grid25 modes /25", "fashion-mnist FID",
                  "fashion-mnist classes /10", "fashion-mnist train min"):
        assert label in md
    assert "| gan | GAN | 7.00 (1 of 2 seeds diverged) |" in md  # one seed left: no standard error
    assert "| wgan-gp | GAN | **8.00 +- 0.00** | 90.0 +- 0.0 |" in md  # the best in bold
    floor = next(line for line in md.splitlines() if line.startswith("| *real vs real* |"))
    cells = [c.strip() for c in floor.strip("|").split("|")]
    assert cells[-3:] == ["2.0", "10.00", ""]  # under FID and classes (their own columns are gone), not the time
    assert "not run: cyclegan on ring8, grid25, fashion-mnist: it translates between two domains" in md
    assert "## Checks: issue 24's targets (computed from the rows above)" in md
    assert "- [ ] ring8: every GAN-family model and hybrid" in md and "- [x] grid25:" in md
    assert "- gan: ring8 3 epochs = 100 steps at batch 64;" in md and "mean +- standard error over seeds 0..1" in md
    header = doc.csv().splitlines()[0].split(",")
    assert header[:4] == ["model", "family", "ring8 modes", "ring8 modes_se"] and "fashion-mnist FID real" in header


def test_a_bad_model_name_is_a_one_line_error(tmp_path, capsys):
    code = main(["reproduce", "defaults", "--models", "gan,nosuch", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and "nosuch" in err and "wgan-gp" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_reproduce_defaults_at_toy_length_then_reuse(tmp_path, capsys):
    out = tmp_path / "d"
    argv = ["reproduce", "defaults", "--preset", "smoke", "--models", "gan,vae,cyclegan", "--datasets", "ring8,digits",
            "--device", "cpu", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.count("] trained (3 steps") == 4
    for run in ("gan-ring8-s0", "gan-digits-s0", "vae-ring8-s0", "vae-digits-s0"):
        assert json.loads((out / "runs" / run / "status.json").read_text())["state"] == "finished"
        assert (out / "runs" / run / "evaluation.json").exists()
    assert not list((out / "runs").glob("cyclegan-*"))
    md = (out / "table.md").read_text()
    assert "| cyclegan | GAN | - | - | - | - | - | - |" in md and "not run: cyclegan on ring8, digits" in md
    assert "| *real vs real* |" in md and "## Checks: issue 24's targets" in md and "digits FID" in md
    rows = list(csv.DictReader(open(out / "table.csv")))
    assert [r["model"] for r in rows] == ["cyclegan", "gan", "vae"]  # by family, then name
    gan = rows[1]
    assert 0 <= float(gan["ring8 modes"]) <= 8 and float(gan["digits FID"]) > float(gan["digits FID real"]) > 0
    assert float(gan["ring8 min"]) > 0
    assert (out / "report.html").exists() and (out / "samples-digits.png").exists()
    # a second invocation re-uses every run and its training time
    assert main(argv) == 0
    again = capsys.readouterr().out
    assert again.count("] re-used (3 steps") == 4 and "] trained" not in again
    assert list(csv.DictReader(open(out / "table.csv")))[1]["ring8 min"] == gan["ring8 min"]
    # runs made with other settings are refused before anything trains
    code = main(argv + ["--steps", "4"])
    err = capsys.readouterr().err
    assert code == 2 and "other settings" in err and "steps=3 (now 4)" in err
    assert json.loads((out / "runs" / "gan-ring8-s0" / "status.json").read_text())["step"] == 3

"""`genlab reproduce vae-vs-gan` end to end at toy size on the built-in digits: runs, metrics, table, CSV,
figures, re-use, and the computed checks of the expected story."""

from __future__ import annotations

import csv

import pytest

from genlab.cli import main
from genlab.metrics import classifier
from genlab.reproduce.vae_vs_gan import checks


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(classifier.RECIPES, "digits",
                        classifier.Recipe(epochs=1, min_steps=30, widths=(8, 16, 16), features=32))


@pytest.mark.slow
def test_reproduce_vae_vs_gan_at_toy_size(tmp_path, capsys, cache):
    out = tmp_path / "vg"
    argv = ["reproduce", "vae-vs-gan", "--dataset", "digits", "--epochs", "1", "--n", "60", "--critic-steps", "3",
            "--models", "vae,alphagan", "--out", str(out), "--device", "cpu"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.count("] training ") == 4  # two models and the two 2-D latent runs
    for name in ("vae", "alphagan", "vae-2d", "vaegan-2d"):
        assert (out / name / "samples" / "final.png").exists()
    md = (out / "table.md").read_text()
    assert "| vae |" in md and "| alphagan |" in md and "real vs real" in md and "## The expected story" in md
    rows = {r["model"]: r for r in csv.DictReader(open(out / "table.csv"))}
    refs = {name: rows.pop(name) for name in list(rows) if name.startswith("reference: ")}
    assert set(rows) == {"vae", "alphagan"}
    assert float(rows["alphagan"]["rec. MSE"]) >= 0
    assert all(float(r["FID"]) >= 0 and 0 <= float(r["recall"]) <= 1 for r in rows.values())
    # blurred real images and the VAE's reconstructions of them: scored, with their pixel error to the originals
    assert sorted(refs) == ["reference: real train images blurred (sigma 1 px)",
                            "reference: vae reconstructions of those train images"]
    assert all(float(r["FID"]) > 0 and 0 <= float(r["recall"]) <= 1 and float(r["rec. MSE"]) > 0
               and r["KID x1000"] == "" for r in refs.values())
    assert all(f"| {name} |" in md for name in refs) and "cover the data by construction" in md
    assert (out / "samples.png").stat().st_size > 0 and (out / "latent.png").stat().st_size > 0
    assert main(argv) == 0  # a second call re-uses every run
    assert capsys.readouterr().out.count("re-using") == 4


def test_the_story_checks_read_the_numbers():
    def ev(fid, precision, recall, mse=None, classes=10):
        out = {"fid": {"fid": fid}, "prdc": {"precision": precision, "recall": recall},
               "classes": {"classes": classes, "classes_real": 10}}
        if mse is not None:
            out["reconstruction"] = {"mse": mse}
        return out

    # the VAE's recall is the worst, as measured: no check claims otherwise
    story = {"vae": ev(50, 0.2, 0.1, 0.01), "dcgan": ev(20, 0.6, 0.5), "vaegan": ev(30, 0.5, 0.5, 0.02)}
    results = checks(story, list(story))
    assert all(ok for _, ok in results) and not any("recall" in text for text, _ in results)
    assert any("covers every class (10 of the 10" in text for text, _ in results)
    story["vaegan"] = ev(60, 0.5, 0.7, 0.02)  # a worse FID than the VAE
    story["vae"] = ev(50, 0.2, 0.1, 0.01, classes=9)  # a class missing
    failed = [text for text, ok in checks(story, list(story)) if not ok]
    assert any("better sample quality" in t for t in failed) and any("covers every class" in t for t in failed)


def test_unknown_models_are_a_clear_error(tmp_path, capsys):
    code = main(["reproduce", "vae-vs-gan", "--models", "vae,nosuch", "--out", str(tmp_path / "x")])
    assert code == 2 and "nosuch" in capsys.readouterr().err


def test_the_table_is_a_compare_table_with_the_story_and_settings(tmp_path):
    import argparse

    from genlab.compare import Table
    from genlab.reproduce.vae_vs_gan import COLUMNS, PROTOCOLS, table

    def result(fid: float, precision: float) -> dict:
        return {"fid": {"fid": fid, "fid_real": 1.0, "settings": {"features": "classifier"}},
                "prdc": {"precision": precision, "recall": 0.5}, "classes": {"classes": 10, "classes_real": 10}}

    results = {"vae": result(50.0, 0.2), "dcgan": result(20.0, 0.6)}
    args = argparse.Namespace(dataset="digits", preset="quick", seed=0)
    proto = next(iter(PROTOCOLS.values()))
    doc, rows = table(results, ["vae", "dcgan"], args, proto, 1, 100, 10, 60.0, [tmp_path / "samples.png"])
    assert isinstance(doc, Table) and [r["model"] for r in rows] == ["vae", "dcgan"]
    md = doc.markdown()
    assert md.startswith("# VAE vs GAN vs hybrids") and "| FID (lower) |" in md
    assert "| vae | 50.0 |" in md and "| dcgan | 20.0 |" in md and "| real vs real (floor) | 1.0 |" in md
    assert "## The expected story" in md and "- [x] the VAE has the worst FID" in md
    assert "## Settings" in md and "- figures: samples.png" in md
    assert doc.header == ["model"] + [c[0] for c in COLUMNS]

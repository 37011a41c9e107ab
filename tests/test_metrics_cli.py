"""Sample-quality evaluation end to end through the `genlab` command: evaluate, evaluator train, compare,
and the messages for bad input. Tiny runs on digits and ring8; the digits classifier is trained with a
short recipe into a temporary cache (the cache key includes the recipe, so it never mixes with a real one).
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch

from genlab.cli import main
from genlab.metrics import classifier
from genlab.metrics.base import METRICS
from genlab.registry import MODELS

SAMPLE_METRICS = "fid,kid,is,prdc,classes,diversity,critic"
N = ["--n", 120]
KID = ["--kid-subsets", 5, "--kid-subset-size", 50]
EVAL = [*N, *KID, "--critic-steps", 15]  # for metric lists with kid and critic (a setting no metric reads is an error)


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A private genlab cache and a short digits recipe for every test of this module."""
    mp = pytest.MonkeyPatch()
    path = tmp_path_factory.mktemp("cache")
    mp.setenv("GENLAB_CACHE", str(path))
    mp.setitem(classifier.RECIPES, "digits", classifier.Recipe(epochs=1, min_steps=60, widths=(8, 16, 16), features=32))
    yield path
    mp.undo()


@pytest.fixture(scope="module")
def runs(cache, tmp_path_factory):
    """A tiny GAN and VAE on digits and a GAN on ring8."""
    root = tmp_path_factory.mktemp("runs")
    small = {"gan": ["hidden=16,16", "noise_dim=4"], "vae": ["latent_dim=2", "hidden=16"]}
    out = {}
    for model, dataset, extra in (("gan", "digits", []), ("vae", "digits", []), ("gan", "ring8", ["subset=512"])):
        path = root / f"{model}-{dataset}"
        code = main([model_arg for model_arg in ["train", model, "--dataset", dataset, "--out", str(path),
                                                 "--steps", "12", "--seed", "1", "batch_size=32", *extra,
                                                 *small[model]]])
        assert code == 0
        out[f"{model}-{dataset}"] = path
    return out


@pytest.mark.slow
def test_evaluator_train_reports_the_test_accuracy(cache, capsys):
    code, out, err = run(capsys, "evaluator", "train", "digits")
    assert code == 0, err
    acc = float(out.split("test accuracy ")[1].split()[0])
    assert 0.8 <= acc <= 1.0
    # long implicit work is said before it starts, with its length after (stderr is no terminal here)
    assert "training the evaluator classifier for digits once (" in err and "next time it is read from" in err
    assert "  done in " in err and "training the digits classifier: step 60/60 (100%)" in err
    info = json.loads(next(cache.glob("evaluators/digits-*/info.json")).read_text())
    assert info["test_accuracy"] == pytest.approx(acc, abs=1e-4)
    assert info["recipe"]["min_steps"] == 60 and info["data"]["dataset"] == "digits"
    assert not list(cache.glob("evaluators/.tmp-*"))  # nothing half-written left behind
    # a second call finds it in the cache instead of training again
    before = next(cache.glob("evaluators/digits-*/model.safetensors")).stat().st_mtime_ns
    code, _, err = run(capsys, "evaluator", "train", "digits")
    assert code == 0 and "training the evaluator classifier" not in err
    assert next(cache.glob("evaluators/digits-*/model.safetensors")).stat().st_mtime_ns == before


def test_classifier_key_changes_with_what_affects_the_weights():
    base = classifier.classifier_key({"dataset": "digits"}, classifier.Recipe())[0]
    assert classifier.classifier_key({"dataset": "digits-inverted"}, classifier.Recipe())[0] != base
    assert classifier.classifier_key({"dataset": "digits"}, classifier.Recipe(epochs=2))[0] != base
    assert classifier.classifier_key({"dataset": "digits", "image_size": 16}, classifier.Recipe())[0] != base
    # the key holds the data's content, not a path string (digits ignores path=)
    assert classifier.classifier_key({"dataset": "digits", "path": "x.npz"}, classifier.Recipe())[0] == base
    assert classifier.classifier_key({"dataset": "digits", "data_dir": "/elsewhere"}, classifier.Recipe())[0] == base
    # it sees grey-level images: runs on the same images binarized, or on a subset, share it
    for same in ({"binarize": "dynamic"}, {"binarize": "static"}, {"subset": 100}):
        assert classifier.classifier_key({"dataset": "digits", **same}, classifier.Recipe())[0] == base


@pytest.mark.slow
def test_evaluate_images_stores_every_metric_with_its_settings_and_repeats_exactly(runs, cache, capsys):
    path = runs["gan-digits"]
    code, out, err = run(capsys, "evaluate", path, "--metrics", SAMPLE_METRICS, *EVAL)
    assert code == 0, err
    printed = json.loads(out)
    stored = json.loads((path / "evaluation.json").read_text())
    assert set(SAMPLE_METRICS.split(",")) <= set(stored)
    for name in SAMPLE_METRICS.split(","):
        res = stored[name]
        assert res == printed[name]
        s = res["settings"]
        assert s["n_real"] == s["n_fake"] == 120 and s["reference_split"] == "test" and s["seed"] == 0
        values = {k: v for k, v in res.items() if k != "settings"}
        assert values and all(np.isfinite(v) for v in values.values())
        assert all(f"{k}_real" in values for k in values if not k.endswith("_real")), name  # the floor
        assert not METRICS.get(name).undeclared(res), name  # the registry says how to read every number
    assert stored["fid"]["settings"]["features"] == "classifier"
    assert stored["fid"]["settings"]["features_id"].startswith("classifier-")
    assert stored["kid"]["settings"]["kid_subsets"] == 5 and stored["kid"]["settings"]["kid_subset_size"] == 50
    assert stored["critic"]["settings"]["critic_steps"] == 15
    assert stored["classes"]["classes_real"] >= 9  # real digits show (nearly) every class
    assert stored["fid"]["fid_real"] < stored["fid"]["fid"]  # a 12-step GAN is far from the data
    assert list(cache.glob("real-features/digits-*.npz"))  # real features cached

    # computed again, the same seed gives the same numbers, exactly; another feature batch size too (to float
    # rounding)
    code, out2, err = run(capsys, "evaluate", path, "--metrics", SAMPLE_METRICS, *EVAL, "--recompute")
    assert code == 0, err
    again = json.loads(out2)
    code, out3, err = run(capsys, "evaluate", path, "--metrics", SAMPLE_METRICS, *EVAL, "--batch-size", 7, "--recompute")
    other_batch = json.loads(out3)
    for name in SAMPLE_METRICS.split(","):
        for key, value in printed[name].items():
            if key != "settings":
                assert again[name][key] == value, (name, key)
                assert other_batch[name][key] == pytest.approx(value, rel=1e-6, abs=1e-9), (name, key)
    # another seed draws other samples
    code, out4, _ = run(capsys, "evaluate", path, "--metrics", "fid", *N, "--seed", 5)
    assert json.loads(out4)["fid"]["fid"] != printed["fid"]["fid"]


@pytest.mark.slow
def test_evaluate_points_uses_raw_coordinates(runs, capsys):
    code, out, err = run(capsys, "evaluate", runs["gan-ring8"], "--metrics", "fid,kid,prdc,critic", *EVAL)
    assert code == 0, err
    res = json.loads(out)
    assert res["fid"]["settings"]["features"] == "raw" and res["fid"]["settings"]["features_id"] == "raw"
    assert res["prdc"]["precision_real"] > 0.5 and res["fid"]["fid_real"] < 0.5


@pytest.mark.slow
def test_compare_writes_one_table_and_splits_incomparable_columns(runs, capsys, tmp_path):
    gan, vae = runs["gan-digits"], runs["vae-digits"]
    assert run(capsys, "evaluate", gan, "--metrics", "fid,prdc", *N)[0] == 0
    assert run(capsys, "evaluate", vae, "--metrics", "fid,prdc", *N)[0] == 0
    prefix = tmp_path / "table"
    code, out, err = run(capsys, "compare", gan, vae, "--out", prefix)
    assert code == 0, err
    md, csv = (tmp_path / "table.md").read_text(), (tmp_path / "table.csv").read_text()
    header = csv.splitlines()[0].split(",")
    assert header[:2] == ["run", "model"]  # the model differs between the runs, so it is shown
    assert "fid" in header and "fid_real" in header and "precision" in header
    assert len(csv.splitlines()) == 3 and md in out
    assert "NOT COMPARABLE" not in md
    # printed: directions in the headers, the floors once in a last row, not as columns
    assert "| fid ↓ |" in md and "precision ↑" in md and "fid_real" not in md and "| *real vs real* |" in md

    # --metrics chooses the columns; an unknown name gets a one-line error naming the available ones
    code, out, err = run(capsys, "compare", gan, vae, "--metrics", "precision,fid")
    assert code == 0, err
    assert out.splitlines()[0] == "| run | model | precision ↑ | fid ↓ |"
    code, out, err = run(capsys, "compare", gan, vae, "--metrics", "fid,nope")
    assert code == 2 and "'nope'" in err and "prdc (precision, recall, density, coverage)" in err
    assert len(err.strip().splitlines()) == 1

    # different sample counts: the fid column is split, tagged, and the note says why
    assert run(capsys, "evaluate", vae, "--metrics", "fid", "--n", 100)[0] == 0
    code, out, err = run(capsys, "compare", gan, vae)
    assert code == 0, err
    assert "fid [a]" in out and "fid [b]" in out
    note = next(line for line in out.splitlines() if line.startswith("- fid:"))
    assert "NOT COMPARABLE" in note and "n_real=120" in note and "n_real=100" in note
    assert "precision [a]" not in out  # prdc still shares its columns

    # other features (raw pixels) split the column too; another evaluation seed does not, but is noted
    assert run(capsys, "evaluate", vae, "--metrics", "kid", "--features", "raw", *N, *KID)[0] == 0
    assert run(capsys, "evaluate", gan, "--metrics", "kid", *N, *KID)[0] == 0
    assert run(capsys, "evaluate", vae, "--metrics", "prdc", *N, "--seed", 3)[0] == 0
    code, out, err = run(capsys, "compare", gan, vae)
    assert code == 0, err
    kid_note = next(line for line in out.splitlines() if line.startswith("- kid:"))
    assert "kid [a]" in out and "features=raw" in kid_note and "features=classifier" in kid_note
    assert "precision [a]" not in out
    assert any(line.startswith("- prdc: evaluated with different seeds") for line in out.splitlines())


@pytest.mark.slow
def test_bad_input_gets_a_clear_message(runs, capsys, monkeypatch, tmp_path):
    path = runs["gan-digits"]
    code, _, err = run(capsys, "evaluate", path, "--metrics", "fid,nosuch")
    assert code == 2 and "unknown metric 'nosuch'" in err and "fid" in err
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)  # as if the extra were not installed
    code, _, err = run(capsys, "evaluate", path, "--metrics", "fid", "--features", "inception", "--n", 50)
    assert code == 2 and "genlab[inception]" in err and "Traceback" not in err
    code, _, err = run(capsys, "evaluate", runs["gan-ring8"], "--metrics", "fid", "--features", "classifier")
    assert code == 2 and "does not apply to points" in err and "raw" in err
    code, _, err = run(capsys, "evaluate", path, "--metrics", "fid", "--features", "nosuch")
    assert code == 2 and "unknown feature extractor 'nosuch'" in err
    code, _, err = run(capsys, "evaluate", runs["gan-ring8"], "--metrics", "diversity")
    assert code == 2 and "for images" in err
    # each setting is checked and named with its flag, before anything is computed
    for args, needles in [
        (["--metrics", "fid", "--n", 1], ["'n_samples' (--n)", ">= 2"]),
        (["--metrics", "fid", "--k", 50], ["'k' (--k)", "none of the chosen metrics reads it", "elbo, nll"]),
        (["--metrics", "fid,prdc", "--critic-steps", 5], ["'critic_steps' (--critic-steps)", "read by critic"]),
        (["--metrics", "nll"], ["'metrics' (--metrics)", "nll does not apply", "'gan' has none", "vae", "iwae"]),
        (["--metrics", "fid", "--kid-subset-size", 1], ["'kid_subset_size' (--kid-subset-size)", ">= 2"]),
    ]:
        code, out, err = run(capsys, "evaluate", path, *args)
        assert code == 2 and err.count("\n") == 1 and all(n in err for n in needles), (args, err)
    code, _, err = run(capsys, "evaluator", "train", "ring8")
    assert code == 2 and "points" in err
    fresh = tmp_path / "fresh"
    assert main(["train", "gan", "--dataset", "ring8", "--out", str(fresh), "--steps", "2", "subset=256", "batch_size=32",
                 "hidden=8", "noise_dim=2"]) == 0
    capsys.readouterr()
    code, _, err = run(capsys, "compare", path, fresh)
    assert code == 2 and "has not been evaluated" in err


@pytest.mark.slow
def test_conditional_models_report_the_accuracy_of_the_asked_class(cache, capsys, tmp_path):
    conditional = [name for name, cls in MODELS.items() if cls.conditional]
    if not conditional:
        pytest.skip("no conditional model is registered")
    path = tmp_path / "cond"
    code = main(["train", conditional[0], "--dataset", "digits", "--out", str(path), "--steps", "8", "batch_size=32"])
    assert code == 0
    capsys.readouterr()
    code, out, err = run(capsys, "evaluate", path, "--metrics", "classes", "--n", 100)
    assert code == 0, err
    res = json.loads(out)["classes"]
    assert 0 <= res["conditional_accuracy"] <= 1 and res["conditional_accuracy_real"] >= 0.8


def fake_torch_fidelity(fail: Exception | None = None):
    """A stand-in for the torch-fidelity package (not installed here): checks the input it is given."""
    import types

    seen = []

    class FeatureExtractorInceptionV3(torch.nn.Module):
        def __init__(self, name, features_list, feature_extractor_weights_path=None):
            super().__init__()
            if fail is not None:
                raise fail
            assert name == "inception-v3-compat" and features_list == ["2048", "logits_unbiased"]
            self.w = torch.nn.Parameter(torch.randn(3, 6, generator=torch.Generator().manual_seed(0)))

        def forward(self, x):
            seen.append((x.dtype, tuple(x.shape[1:])))
            h = x.float().mean(dim=(2, 3)) / 255  # (B, 3)
            return h @ self.w, (h @ self.w) * 3

    pkg = types.ModuleType("torch_fidelity")
    pkg.__version__ = "0.0-test"
    sub = types.ModuleType("torch_fidelity.feature_extractor_inceptionv3")
    sub.FeatureExtractorInceptionV3 = FeatureExtractorInceptionV3
    pkg.feature_extractor_inceptionv3 = sub
    return {"torch_fidelity": pkg, "torch_fidelity.feature_extractor_inceptionv3": sub}, seen


@pytest.mark.slow
def test_inception_features_go_through_torch_fidelity(runs, capsys, monkeypatch):
    modules, seen = fake_torch_fidelity()
    for name, mod in modules.items():
        monkeypatch.setitem(sys.modules, name, mod)
    code, out, err = run(capsys, "evaluate", runs["gan-digits"], "--metrics", "fid,is", "--features", "inception", *N)
    assert code == 0, err
    res = json.loads(out)
    assert res["fid"]["settings"]["features"] == "inception"
    assert res["fid"]["settings"]["features_id"] == "torch-fidelity-0.0-test-inception-v3-compat-2048"
    assert res["is"]["is"] >= 1.0
    assert seen and all(s == (torch.uint8, (3, 8, 8)) for s in seen)  # grey tiled to RGB, as uint8


@pytest.mark.slow
def test_inception_weights_that_cannot_be_fetched_get_a_clear_message(runs, capsys, monkeypatch):
    import urllib.error

    modules, _ = fake_torch_fidelity(fail=urllib.error.URLError("no route to host"))
    for name, mod in modules.items():
        monkeypatch.setitem(sys.modules, name, mod)
    again = [runs["gan-digits"], "--metrics", "fid", "--features", "inception", *N, "--recompute"]  # not stored
    code, _, err = run(capsys, "evaluate", *again)
    assert code == 2 and "could not load the Inception weights" in err and "GENLAB_INCEPTION_WEIGHTS" in err
    monkeypatch.setenv("GENLAB_INCEPTION_WEIGHTS", "/nonexistent/weights.pth")
    code, _, err = run(capsys, "evaluate", *again)
    assert code == 2 and "is not a file" in err

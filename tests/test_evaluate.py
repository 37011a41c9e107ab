"""The evaluation layer's settings (EvalConfig) and its stored results: a stored number is re-used for the
same settings, checkpoint and data, and never for others (other settings, a resumed or differently trained
run). Tiny VAEs on digits; likelihood metrics with small K, so nothing here trains a classifier."""

from __future__ import annotations

import json
import shutil

import pytest

from genlab import api
from genlab.api import make_configs
from genlab.compare import compare, load_runs
from genlab.errors import ConfigError
from genlab.evaluate import EvalConfig, evaluate
from genlab.metrics import base
from genlab.metrics.base import HIGHER, KINDS, LOWER, METRICS, NEITHER, EvalContext

SETTINGS = dict(metrics=("nll", "elbo"), k=4, n_data=30)


def test_settings_are_checked_and_name_their_field_and_flag():
    for kwargs, needle in [
        (dict(metrics=("nll",), k=0), "'k' (--k): must be >= 1"),
        (dict(metrics=("nll",), n_data=0), "'n_data' (--n-data): must be >= 1"),
        (dict(metrics=("fid",), n_samples=1), "'n_samples' (--n): must be >= 2"),
        (dict(metrics=("nll",), k=2.5), "'k' (--k): must be an integer"),
        (dict(metrics=("nope",)), "'metrics' (--metrics): unknown metric 'nope'; choose from: "),
        (dict(metrics=("nll", "nll")), "named twice"),
        (dict(metrics=("fid",), features="nope"), "'features' (--features): unknown feature extractor"),
        (dict(metrics=("nll",), n_samples=10), "'n_samples' (--n): none of the chosen metrics reads it"),
        (dict(metrics=("fid",), n_data=10), "'n_data' (--n-data): none of the chosen metrics reads it"),
        (dict(metrics=("nll",), seed=-1), "'seed' (--seed): must be >= 0"),
    ]:
        with pytest.raises(ConfigError, match="invalid value for ") as e:
            EvalConfig(**kwargs)
        assert needle in str(e.value) and "\n" not in str(e.value)
    assert EvalConfig(metrics="nll, elbo").metrics == ("nll", "elbo")  # a comma-separated string is read too


def test_each_metric_reads_its_own_defaults_and_nothing_else():
    cfg = EvalConfig(metrics=("nll", "elbo", "fid"), n_samples=300)
    nll, elbo, fid = (cfg.for_metric(METRICS.get(m)) for m in ("nll", "elbo", "fid"))
    assert (nll.k, nll.n_data, nll.n_samples) == (5000, None, None)  # n_data None: the whole split
    assert (elbo.k, elbo.n_samples) == (100, None)
    assert (fid.k, fid.n_samples, fid.n_data) == (None, 300, None)
    assert EvalConfig(metrics=("nll", "elbo"), k=7).for_metric(METRICS.get("elbo")).k == 7  # one meaning
    assert EvalConfig(metrics=("modes",)).for_metric(METRICS.get("modes")).n_samples == 2500
    kid = EvalConfig(metrics=("kid",)).for_metric(METRICS.get("kid"))
    assert (kid.kid_subsets, kid.kid_subset_size, kid.critic_steps) == (100, 1000, None)


def test_the_options_dict_of_earlier_callers_keeps_its_meaning():
    # "n" was the data examples of the likelihood and reconstruction metrics and the samples of the others
    cfg = EvalConfig.from_options(["fid", "reconstruction", "critic"], {"n": 64, "critic_steps": 3, "seed": 1})
    assert (cfg.n_samples, cfg.n_data, cfg.critic_steps, cfg.seed) == (64, 64, 3, 1)
    assert EvalConfig.from_options(["modes"], {"n": 2500, "k": None}).n_samples == 2500
    assert EvalConfig.from_options(["nll"], {"n": 10, "k": 3}).n_data == 10
    with pytest.raises(ConfigError, match="unknown evaluation options keys"):
        EvalConfig.from_options(["nll"], {"kk": 3})


def _train(path, model: str = "vae", **train):
    """A tiny run trained through the API (no pictures: a few tenths of a second)."""
    over = {"vae": {"hidden": "16", "latent_dim": "2"}, "gan": {"hidden": "8", "noise_dim": "2"}}[model]
    cfgs = make_configs(model, "digits", over, train={"epochs": 0, "steps": 6, "batch_size": 32, **train})
    return api.train(model, path, cfgs, progress=False, pictures=False).path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two tiny VAEs trained once for the module: the same settings and step, other seeds (other weights)."""
    root = tmp_path_factory.mktemp("trained")
    return {"a": _train(root / "a"), "b": _train(root / "b", seed=1)}


@pytest.fixture
def run_a(trained, tmp_path):
    """A fresh copy of run a (nothing evaluated yet), for a test to change as it likes."""
    return shutil.copytree(trained["a"], tmp_path / "a")


@pytest.fixture
def counted(monkeypatch):
    """Counts the importance-sampling passes (what a re-used result skips)."""
    calls = []
    real = base.importance_terms

    def counting(*args, **kwargs):
        calls.append(args[3])  # K
        return real(*args, **kwargs)

    monkeypatch.setattr(base, "importance_terms", counting)
    return calls


def test_a_stored_result_is_reused_for_the_same_settings_and_checkpoint(run_a, counted):
    path = run_a
    said = []
    first = evaluate(path, EvalConfig(**SETTINGS), say=said.append)
    assert counted == [4] and not said  # nll and elbo with the same K share one pass
    stored = sorted(p.name for p in (path / "eval-cache").iterdir())
    assert [n.split("-")[0] for n in stored] == ["elbo", "nll"]
    assert first["nll"]["settings"]["checkpoint"]["step"] == 6
    stamp = (path / "evaluation.json").stat().st_mtime_ns

    again = evaluate(path, EvalConfig(**SETTINGS, batch_size=7), say=said.append)  # batch size changes nothing
    assert again == first and counted == [4] and len(said) == 2 and "re-used" in said[0]
    assert (path / "evaluation.json").stat().st_mtime_ns == stamp  # nothing new to write
    # the legacy options dict with the same meaning finds the same results
    assert evaluate(path, ["nll"], {"k": 4, "n": 30})["nll"] == first["nll"] and counted == [4]
    # --recompute computes again, and gets the same numbers
    fresh = evaluate(path, EvalConfig(**SETTINGS), recompute=True)
    assert counted == [4, 4]
    for metric, result in first.items():
        assert {k: v for k, v in fresh[metric].items() if k != "settings"} == \
            {k: v for k, v in result.items() if k != "settings"}


def test_other_settings_never_reuse_a_stored_result(run_a, counted):
    path = run_a
    first = evaluate(path, EvalConfig(**SETTINGS))["nll"]
    for change in (dict(k=5), dict(n_data=20), dict(seed=1), dict(split="train")):
        out = evaluate(path, EvalConfig(**{**SETTINGS, **change}))["nll"]
        assert out["nll_nats"] != first["nll_nats"], change
    assert counted == [4, 5, 4, 4, 4]
    assert len(list((path / "eval-cache").iterdir())) == 2 * 5


def test_a_resumed_run_is_evaluated_again_and_compare_leaves_out_stale_numbers(run_a, counted):
    path = run_a
    before = evaluate(path, EvalConfig(metrics=("nll", "active-units"), k=4, n_data=30))
    assert api.resume(path, steps=10, progress=False)[1:] == (6, 10)
    after = evaluate(path, EvalConfig(**SETTINGS))
    assert counted == [4, 4]
    assert after["nll"]["settings"]["checkpoint"]["step"] == 10 and after["nll"]["nll_nats"] != before["nll"]["nll_nats"]
    # active-units was computed on step 6: compare leaves it out, and says so
    runs = load_runs([path])
    assert set(runs[0]["evaluation"]) == {"nll", "elbo"} and set(runs[0]["stale"]) == {"active-units"}
    table = compare(runs)
    assert "active_units" not in table.header and "nll_nats" in table.header
    assert any("active-units left out" in n and "step 6" in n for n in table.notes)


def test_other_weights_at_the_same_step_are_evaluated_again(trained, run_a, tmp_path, counted):
    a = run_a
    b = shutil.copytree(trained["b"], tmp_path / "b")  # the same settings and step, other weights
    first = evaluate(a, EvalConfig(**SETTINGS))
    shutil.copytree(a / "eval-cache", b / "eval-cache")  # as if b had been trained again in a's place
    second = evaluate(b, EvalConfig(**SETTINGS))
    assert counted == [4, 4]
    assert second["nll"]["settings"]["checkpoint"]["weights"] != first["nll"]["settings"]["checkpoint"]["weights"]
    assert second["nll"]["nll_nats"] != first["nll"]["nll_nats"]


def test_a_damaged_stored_result_is_computed_again(run_a, counted):
    path = run_a
    first = evaluate(path, EvalConfig(**SETTINGS))
    for f in (path / "eval-cache").iterdir():
        f.write_text("{not json")
    assert evaluate(path, EvalConfig(**SETTINGS))["nll"]["nll_nats"] == first["nll"]["nll_nats"]
    assert counted == [4, 4]
    assert all(json.loads(f.read_text())["settings"] for f in (path / "eval-cache").iterdir())


def test_metrics_that_do_not_apply_are_refused_before_any_work(tmp_path):
    path = _train(tmp_path / "gan", "gan")
    with pytest.raises(ConfigError, match="invalid value for 'metrics' \\(--metrics\\): reconstruction does not "
                                          "apply .* needs a model with an encoder and a decoder, and 'gan' has none"):
        evaluate(path, EvalConfig(metrics=("fid", "reconstruction")))
    assert not (path / "eval-cache").exists() and not (path / "evaluation.json").exists()
    # the direct call of a metric checks too, and its context reads the run's settings for that metric
    ctx = EvalContext(path, EvalConfig(n_data=5))
    with pytest.raises(ConfigError, match="does not apply"):
        METRICS.get("elbo")(ctx)


def test_near_chance_is_measured_from_chance_to_perfect():
    from genlab.metrics.features import near_chance

    assert near_chance(0.022, 10, "npz").startswith("the evaluator classifier for 'npz' is near chance: 2.2% correct")
    assert near_chance(0.32, 10, "x") and not near_chance(0.33, 10, "x")  # chance 10%: a quarter of the way
    assert near_chance(0.62, 2, "x") and not near_chance(0.63, 2, "x")  # chance 50%
    assert not near_chance(0.91, 10, "fashion-mnist")


def test_numbers_on_a_classifier_near_chance_need_force(run_a, monkeypatch, capsys):
    from genlab.metrics import features

    def doubted(name, data_cfg, kind, device="cpu", progress=None):
        ext = features.build_extractor("raw", data_cfg, kind, device)
        return features.Extractor(ext.name, ext.identity, ext.fn, ext.has_probs, {}, doubt="a doubt")

    monkeypatch.setattr(base, "build_extractor", doubted)
    settings = {"metrics": ("fid",), "n_samples": 20}
    with pytest.raises(ConfigError, match="a doubt. genlab does not report numbers on these features.*--force"):
        evaluate(run_a, EvalConfig(**settings))
    assert not (run_a / "evaluation.json").exists()
    out = evaluate(run_a, EvalConfig(**settings, force=True))
    assert out["fid"]["fid"] > 0 and "warning: a doubt; reporting anyway (--force)" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="force"):
        EvalConfig(force="yes")


def test_every_registered_metric_says_how_to_read_the_numbers_it_returns(run_a, tmp_path):
    for name, metric in METRICS.items():
        assert metric.kind in KINDS and metric.values, name
        assert all(v.direction in (LOWER, HIGHER, NEITHER) and v.scale > 0 for v in metric.values.values()), name
        assert any(v.direction != NEITHER for v in metric.values.values()), name  # it scores something
    assert METRICS.get("kid").value("kid_real").scale == 1000  # a real-vs-real floor reads as its number
    assert METRICS.get("active-units").value("active_z2").direction == HIGHER  # per-layer keys
    assert METRICS.get("fid").undeclared({"fid": 1.0, "fid_real": 0.5, "other": 2.0, "settings": {}}) == ["other"]
    # every number the cheap metrics return is declared (the sample-quality metrics on images: test_metrics_cli)
    results = evaluate(run_a, EvalConfig(metrics=("nll", "elbo", "active-units", "reconstruction"), k=4, n_data=30))
    cfgs = make_configs("gan", "ring8", {"hidden": "8", "noise_dim": "2", "subset": "256"},
                        train={"epochs": 0, "steps": 4, "batch_size": 32})
    gan = api.train("gan", tmp_path / "gan", cfgs, progress=False, pictures=False).path
    results.update(evaluate(gan, EvalConfig(metrics=("modes", "fid", "kid", "prdc"), n_samples=60, kid_subsets=3,
                                            kid_subset_size=20)))
    for name, result in results.items():
        assert not METRICS.get(name).undeclared(result), name

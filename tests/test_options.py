"""Discoverable options: `genlab models MODEL`, `genlab datasets NAME`, `genlab metrics NAME` from the typed
configs; typed values; `genlab train --config FILE` (and repeating a run from its config.json)."""

from __future__ import annotations

import json
import sys
import typing
from dataclasses import dataclass, field, fields
from typing import Literal

import pytest

import genlab.models  # noqa: F401  (registers the models)
from genlab.cli import main
from genlab.config import DataConfig, TrainConfig, coerce_value, read_config_file
from genlab.errors import ConfigError
from genlab.models.vae import VAEConfig
from genlab.options import field_comments, options
from genlab.registry import MODELS


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@dataclass
class Example:
    plain: int = 1
    size: int = 3  # the size
    mode: Literal["a", "b"] = "a"  # a: the first,
    #                                b: the second
    # said above
    # on two lines
    above: float = 0.5
    sizes: tuple[int, ...] = (4, 5)
    helped: str = field(default="", metadata={"help": "from metadata"})  # not this


def test_meanings_come_from_the_field_comments():
    assert field_comments(Example) == {"size": "the size", "mode": "a: the first, b: the second",
                                       "above": "said above on two lines", "helped": "not this"}
    opts = {o.name: o for o in options(Example)}
    assert opts["plain"].meaning == "" and opts["helped"].meaning == "from metadata"
    assert (opts["mode"].type, opts["mode"].default, opts["mode"].choices) == ("choice", "a", ("a", "b"))
    assert (opts["sizes"].type, opts["sizes"].default) == ("ints", "4,5")
    assert (opts["above"].type, opts["helped"].default) == ("float", '""')


@pytest.mark.parametrize("cls", [TrainConfig, DataConfig, *{c.Config for _, c in MODELS.items()}],
                         ids=lambda c: c.__name__)
def test_every_option_of_every_config_says_what_it_means(cls):
    opts = options(cls)
    assert [o.name for o in opts] == [f.name for f in fields(cls)]
    for o in opts:
        assert o.meaning, f"{cls.__name__}.{o.name} has no comment saying what it means"
        assert o.type and o.default


def test_models_model_lists_every_option_with_type_default_and_meaning(capsys):
    code, out, err = run(capsys, "models", "vae")
    assert code == 0, err
    lines = out.splitlines()
    for f in (*fields(VAEConfig), *fields(TrainConfig)):
        assert any(line.split()[:1] == [f.name] for line in lines), f.name
    assert "  latent_dim   int     default 20" in out
    assert "likelihood   choice  default auto  (auto | bernoulli | gaussian | laplace)" in out
    assert "presets (--preset NAME): celeba64, cifar10, iwae-paper, iwae-paper-2" in out
    code, out, _ = run(capsys, "models", "gan")
    assert "on points data the defaults change: lr_g=0.001, lr_d=0.001" in out
    code, _, err = run(capsys, "models", "vea")
    assert code != 0 and "unknown model 'vea'" in err


def test_datasets_and_metrics_name_their_options(capsys):
    code, out, err = run(capsys, "datasets", "digits")
    assert code == 0, err
    assert out.startswith("digits (image): ") and "[present]" in out
    assert all(any(line.split()[:1] == [f.name] for line in out.splitlines()) for f in fields(DataConfig))
    code, out, err = run(capsys, "metrics", "kid")
    assert code == 0, err
    assert out.startswith("kid: ") and "--kid-subsets" in out and "--device" in out and "(cpu | cuda | auto)" in out


def test_typed_values_are_checked_like_typed_words():
    hints = typing.get_type_hints(VAEConfig)
    assert coerce_value(hints["hidden"], [64, 32], "hidden") == (64, 32) == coerce_value(hints["hidden"], "64,32", "h")
    assert coerce_value(hints["lr"], 1, "lr") == 1.0 and coerce_value(hints["layers"], 2, "layers") == 2
    for name, bad in (("latent_dim", 2.5), ("latent_dim", True), ("layers", 3), ("learn_sigma", 1), ("act", 1)):
        with pytest.raises(ConfigError, match=f"invalid value .* for '{name}'"):
            coerce_value(hints[name], bad, name)


def test_config_files(tmp_path, monkeypatch):
    f = tmp_path / "c.json"
    f.write_text(json.dumps({"model": "vae", "dataset": "digits", "epochs": 2, "model_config": {"latent_dim": 8}}))
    assert read_config_file(f) == ("vae", {"dataset": "digits", "epochs": 2, "model.latent_dim": 8})
    f.write_text("{oops")
    with pytest.raises(ConfigError, match="c.json is not valid JSON"):
        read_config_file(f)
    y = tmp_path / "c.yaml"
    y.write_text("model: vae\nlatent_dim: 8\n")
    monkeypatch.setitem(sys.modules, "yaml", None)  # PyYAML missing
    with pytest.raises(ConfigError, match="reading YAML needs PyYAML: pip install pyyaml"):
        read_config_file(y)
    with pytest.raises(ConfigError, match="cannot read the config file"):
        read_config_file(tmp_path / "missing.json")


@pytest.mark.slow
def test_train_config_repeats_a_run_and_records_what_auto_became(tmp_path, capsys):
    first = tmp_path / "first"
    code, _, err = run(capsys, "train", "vae", "--dataset", "digits", "--out", first, "--steps", 8, "--seed", 2,
                       "log_every=4", "latent_dim=3", "hidden=16")
    assert code == 0, err
    cfg = json.loads((first / "config.json").read_text())
    assert cfg["resolved"] == {"model": {"net": "mlp", "likelihood": "bernoulli", "kl": "analytic"},
                               "data": {"range": "01"}}
    again = tmp_path / "again"
    code, _, err = run(capsys, "train", "--config", first / "config.json", "--out", again)
    assert code == 0, err
    rerun = json.loads((again / "config.json").read_text())
    assert {k: v for k, v in rerun.items() if k != "created"} == {k: v for k, v in cfg.items() if k != "created"}
    losses = [[{k: v for k, v in json.loads(line).items() if k != "time"} for line in (d / "metrics.jsonl").open()]
              for d in (first, again)]
    assert losses[0] == losses[1] and len(losses[0]) == 2
    # a hand-written file, with a command-line value beside it that wins
    f = tmp_path / "mine.json"
    f.write_text(json.dumps({"model": "vae", "dataset": "digits", "steps": 4, "hidden": [16], "latent_dim": 2}))
    code, _, err = run(capsys, "train", "--config", f, "--out", tmp_path / "mine", "latent_dim=5")
    assert code == 0, err
    assert json.loads((tmp_path / "mine" / "config.json").read_text())["model_config"]["latent_dim"] == 5
    code, _, err = run(capsys, "train", "--out", tmp_path / "none")
    assert code == 2 and "say which model and data to train: give MODEL and --dataset" in err

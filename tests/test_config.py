"""Config overrides from the command line: keys, types, validation, and the saved-dict round trip."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Literal, Optional

import pytest

from genlab.config import (DataConfig, TrainConfig, apply_overrides, check, from_dict, parse_override_args,
                           parse_value, to_dict)
from genlab.errors import ConfigError
from genlab.models.gan import GANConfig
from genlab.models.vae import VAEConfig


def sections():
    return {"train": TrainConfig(), "data": DataConfig()}


# Small configs of our own, for cases the built-in ones do not have.
@dataclass
class SecA:
    key: int = 1
    only_a: str = "a"


@dataclass
class SecB:
    key: int = 2
    sizes: tuple[int, ...] = (512, 256)
    rate: float = 0.5
    flag: bool = False
    mode: Literal["x", "y"] = "x"
    k: Literal[1, 3] = 1
    maybe: Optional[int] = None

    def __post_init__(self):
        check(self.rate <= 1, "rate", "must be <= 1")


# ----------------------------------------------------------------------------------------------------
# keys


def test_bare_key_sets_the_owning_section_only():
    before = sections()
    after = apply_overrides(before, {"batch_size": "32"})
    assert after["train"].batch_size == 32 and type(after["train"].batch_size) is int
    assert after["data"] == before["data"]
    assert dataclasses.replace(after["train"], batch_size=64) == before["train"]
    assert before["train"].batch_size == 64, "the input configs must not be changed"


def test_section_dot_key():
    after = apply_overrides(sections(), {"data.subset": "100", "train.seed": "7"})
    assert after["data"].subset == 100
    assert after["train"].seed == 7


@pytest.mark.parametrize("key", ["batch-size", "train.batch-size", "train.batch_size"])
def test_hyphens_are_accepted(key):
    assert apply_overrides(sections(), {key: "8"})["train"].batch_size == 8


def test_several_overrides_in_several_sections():
    after = apply_overrides(sections(), {"epochs": "3", "dataset": "ring8", "log-every": "5"})
    assert (after["train"].epochs, after["train"].log_every, after["data"].dataset) == (3, 5, "ring8")


def test_unknown_key_lists_the_valid_keys():
    with pytest.raises(ConfigError) as e:
        apply_overrides(sections(), {"zzqqxx": "1"})
    msg = str(e.value)
    assert "zzqqxx" in msg
    assert "train.batch_size" in msg and "data.dataset" in msg and "train.keep_checkpoints" in msg
    assert "did you mean" not in msg


@pytest.mark.parametrize("key, meant", [("batch_sise", "batch_size"), ("train.epoch", "epochs"),
                                        ("data.datset", "dataset"), ("batch-sise", "batch_size")])
def test_near_miss_says_did_you_mean(key, meant):
    with pytest.raises(ConfigError) as e:
        apply_overrides(sections(), {key: "1"})
    msg = str(e.value)
    assert key in msg
    assert f"did you mean '{meant}'" in msg
    assert "valid keys" in msg and "train.seed" in msg


@pytest.mark.parametrize("key", ["model.batch_size", "train.dataset", "train."])
def test_key_in_unknown_or_wrong_section_is_an_error(key):
    with pytest.raises(ConfigError, match="unknown config key") as e:
        apply_overrides(sections(), {key: "1"})
    assert key in str(e.value)


def test_ambiguous_key_names_both_sections():
    secs = {"a": SecA(), "b": SecB()}
    with pytest.raises(ConfigError) as e:
        apply_overrides(secs, {"key": "5"})
    msg = str(e.value)
    assert "a.key" in msg and "b.key" in msg and "ambiguous" in msg
    after = apply_overrides(secs, {"b.key": "5", "only_a": "z"})
    assert (after["a"].key, after["b"].key, after["a"].only_a) == (1, 5, "z")


# ----------------------------------------------------------------------------------------------------
# values


def test_int_and_float_values():
    after = apply_overrides(sections(), {"seed": "-3"})
    assert after["train"].seed == -3
    assert parse_value(float, "1e-3", "lr") == pytest.approx(1e-3, rel=1e-12, abs=0)
    assert type(parse_value(float, "2", "lr")) is float
    for bad in ("1.5", "ten", ""):
        with pytest.raises(ConfigError, match="'seed'") as e:
            apply_overrides(sections(), {"seed": bad})
        assert "integer" in str(e.value)
    with pytest.raises(ConfigError, match="number"):
        parse_value(float, "fast", "lr")
    for bad in ("inf", "-inf", "nan", "1e999"):
        with pytest.raises(ConfigError, match="'lr'; expected a finite number"):
            parse_value(float, bad, "lr")


@pytest.mark.parametrize("text, value", [("true", True), ("True", True), ("1", True), ("yes", True), ("on", True),
                                         ("false", False), ("FALSE", False), ("0", False), ("no", False),
                                         ("off", False)])
def test_bool_forms(text, value):
    got = apply_overrides(sections(), {"download": text})["data"].download
    assert got is value


@pytest.mark.parametrize("text", ["maybe", "2", "", "tru"])
def test_bad_bool_is_an_error(text):
    with pytest.raises(ConfigError, match="true or false"):
        apply_overrides(sections(), {"download": text})


def test_literal_choices():
    assert apply_overrides(sections(), {"device": "cpu"})["train"].device == "cpu"
    with pytest.raises(ConfigError) as e:
        apply_overrides(sections(), {"device": "gpu"})
    msg = str(e.value)
    assert "'gpu'" in msg and "device" in msg
    assert "auto, cpu, cuda" in msg


def test_literal_of_ints_gives_ints():
    got = apply_overrides({"b": SecB()}, {"k": "3"})["b"].k
    assert got == 3 and type(got) is int
    with pytest.raises(ConfigError, match="choose one of: 1, 3"):
        apply_overrides({"b": SecB()}, {"k": "2"})


@pytest.mark.parametrize("text, value", [("512,256", (512, 256)), ("64", (64,)), (" 8 , 4 ,2", (8, 4, 2)),
                                         ("32,", (32,)), ("", ())])
def test_tuple_of_ints(text, value):
    got = apply_overrides({"b": SecB()}, {"sizes": text})["b"].sizes
    assert got == value and type(got) is tuple and all(type(v) is int for v in got)


def test_tuple_with_a_bad_element_is_an_error():
    with pytest.raises(ConfigError, match="'sizes'"):
        apply_overrides({"b": SecB()}, {"sizes": "512,big"})


def test_optional_field():
    assert apply_overrides({"b": SecB()}, {"maybe": "4"})["b"].maybe == 4
    assert apply_overrides({"b": SecB(maybe=4)}, {"maybe": "none"})["b"].maybe is None
    with pytest.raises(ConfigError, match="'maybe'"):
        apply_overrides({"b": SecB()}, {"maybe": "four"})


def test_strings_are_kept_verbatim():
    assert apply_overrides(sections(), {"path": "a=b,c x.npz"})["data"].path == "a=b,c x.npz"


# ----------------------------------------------------------------------------------------------------
# validation


@pytest.mark.parametrize("cls, kwargs, field", [
    (TrainConfig, dict(batch_size=0), "batch_size"),
    (TrainConfig, dict(epochs=0, steps=0), "epochs"),
    (TrainConfig, dict(steps=-1), "steps"),
    (TrainConfig, dict(log_every=0), "log_every"),
    (TrainConfig, dict(keep_checkpoints=0), "keep_checkpoints"),
    (DataConfig, dict(subset=-1), "subset"),
    (DataConfig, dict(channels=2), "channels"),
    (SecB, dict(rate=2.0), "rate"),
])
def test_validation_names_the_field(cls, kwargs, field):
    with pytest.raises(ConfigError, match=f"'{field}'"):
        cls(**kwargs)


@pytest.mark.parametrize("cls, kwargs, field", [
    (VAEConfig, dict(latent_dim=0), "latent_dim"),
    (VAEConfig, dict(sigma=0.0), "sigma"),
    (VAEConfig, dict(hidden=(64, 0)), "hidden"),
    (GANConfig, dict(noise_dim=0), "noise_dim"),
    (GANConfig, dict(d_steps=0), "d_steps"),
    (GANConfig, dict(lr_g=0.0), "lr_g"),
    (GANConfig, dict(lr_d=0.0), "lr_d"),
])
def test_model_config_validation_names_the_field(cls, kwargs, field):
    with pytest.raises(ConfigError, match=f"'{field}'"):
        cls(**kwargs)


def test_overrides_are_validated():
    with pytest.raises(ConfigError, match="'batch_size'"):
        apply_overrides(sections(), {"batch_size": "0"})
    with pytest.raises(ConfigError, match="'rate'"):
        apply_overrides({"b": SecB()}, {"rate": "1.5"})
    # a combination that is valid only as a whole goes through in one call
    after = apply_overrides(sections(), {"epochs": "0", "steps": "10"})
    assert (after["train"].epochs, after["train"].steps) == (0, 10)


def test_valid_defaults():
    assert TrainConfig().batch_size >= 1 and DataConfig().subset == 0


# ----------------------------------------------------------------------------------------------------
# command-line arguments


def test_parse_override_args_simple_forms():
    assert parse_override_args(["a=1", "--b=2", "--c", "3", "d.e=x=y", "--lr", "-1e-3"]) == {
        "a": "1", "b": "2", "c": "3", "d.e": "x=y", "lr": "-1e-3"}
    assert parse_override_args([]) == {}
    assert parse_override_args(["k="]) == {"k": ""}


@pytest.mark.parametrize("args", [["--k"], ["a=1", "--k"], ["--k", "--j=1"]])
def test_dangling_option_is_an_error(args):
    with pytest.raises(ConfigError, match="'--k' needs a value"):
        parse_override_args(args)


def test_argument_without_equals_is_an_error():
    with pytest.raises(ConfigError, match="key=value"):
        parse_override_args(["a=1", "oops"])


def test_parsed_args_feed_apply_overrides():
    after = apply_overrides(sections(), parse_override_args(["--batch-size", "16", "data.subset=10", "--seed=4"]))
    assert (after["train"].batch_size, after["data"].subset, after["train"].seed) == (16, 10, 4)


# ----------------------------------------------------------------------------------------------------
# saved dicts


def test_to_dict_from_dict_round_trip_with_tuples():
    cfg = SecB(key=9, sizes=(3, 2, 1), rate=0.25, flag=True, mode="y", k=3, maybe=7)
    d = to_dict(cfg)
    assert d["sizes"] == [3, 2, 1]  # plain lists, as JSON writes them
    back = from_dict(SecB, json.loads(json.dumps(d)))
    assert back == cfg and type(back.sizes) is tuple
    for cls in (TrainConfig, DataConfig):
        c = cls()
        assert from_dict(cls, json.loads(json.dumps(to_dict(c)))) == c


def test_from_dict_partial_dict_keeps_defaults():
    assert from_dict(TrainConfig, {"seed": 3}) == TrainConfig(seed=3)


def test_from_dict_unknown_key_is_an_error():
    with pytest.raises(ConfigError) as e:
        from_dict(TrainConfig, {"seed": 1, "bogus": 2}, section="train")
    msg = str(e.value)
    assert "bogus" in msg and "train" in msg and "batch_size" in msg


def test_from_dict_validates():
    with pytest.raises(ConfigError, match="'batch_size'"):
        from_dict(TrainConfig, {"batch_size": 0})
    with pytest.raises(ConfigError, match="'lr'; expected a finite number"):  # JSON's NaN and Infinity
        from_dict(VAEConfig, json.loads('{"lr": Infinity}'))

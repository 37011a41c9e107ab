"""Mixed precision and compiled networks through the one trainer (precision=bf16|fp16, compile=true).

bf16 and fp16 run on the CPU here, for every registered model; CUDA is checked where a GPU is lent (the
README's GPU section). Losses stay float32 whatever the networks' arithmetic."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from genlab.config import TrainConfig
from genlab.errors import ConfigError
from genlab.registry import MODELS
from genlab.rundir import RunDir
from genlab.trainer import Trainer

from test_contract import BATCH, build  # noqa: E402  (the contract tests' toy data and small configs)


def trainer(name: str, case: str, tmp_path, **train) -> Trainer:
    model, data = build(name, case)
    model.train()
    cfg = TrainConfig(epochs=0, steps=2, batch_size=BATCH, seed=0, **train)
    return Trainer(model, data, cfg, RunDir(tmp_path))


@pytest.mark.parametrize("name", MODELS.names())
@pytest.mark.parametrize("precision", ["bf16", pytest.param("fp16", marks=pytest.mark.slow)])  # fp16: 20 steps
def test_every_model_trains_under_mixed_precision_on_the_cpu(name, precision, tmp_path):
    case = "points" if MODELS.get(name).domains == 1 and name not in ("dcgan",) else "img8"
    tr = trainer(name, "img28" if name == "dcgan" else case, tmp_path, precision=precision)
    before = {k: v.clone() for k, v in tr.model.state_dict().items()}
    # fp16's scaler starts at 2^16 and skips the updates whose gradients overflow while it backs off
    for _ in range(2 if precision == "bf16" else 20):
        tr.train_step()
    logged = {k: float(v) / tr.count[k] for k, v in tr.acc.items()}
    assert logged and all(torch.isfinite(torch.tensor(v)) for v in logged.values()), logged
    after = tr.model.state_dict()
    assert all(torch.isfinite(v).all() for v in after.values() if v.is_floating_point())
    assert any(not torch.equal(before[k], after[k]) for k in before), "nothing trained"
    assert all(v.dtype == before[k].dtype for k, v in after.items()), "weights changed dtype"


def test_losses_stay_float32_under_bf16(tmp_path):
    tr = trainer("vae", "img28", tmp_path, precision="bf16")
    phase = tr.phases[0]
    from genlab.models.base import Step

    batch = tr.stream.next()
    out = tr.backward(phase, batch, Step(0, 2))
    assert out["loss"].dtype == torch.float32 and out["rec"].dtype == torch.float32
    # the networks did run in bf16: the decoder's output under autocast
    with tr.autocast():
        assert tr.model.decode(torch.zeros(2, tr.model.cfg.latent_dim)).dtype == torch.bfloat16


def test_fp16_keeps_one_scaler_per_player_group_and_checkpoints_it(tmp_path):
    tr = trainer("aae", "img8", tmp_path, precision="fp16")
    assert set(tr.scalers) == {("encoder", "decoder"), ("disc",), ("encoder",)}
    tr.train_step()
    state = tr.state_dict()
    assert set(state["scalers"]) == {"encoder+decoder", "disc", "encoder"}
    other = trainer("aae", "img8", tmp_path / "b", precision="fp16")
    for key, scaler in other.scalers.items():
        scaler.load_state_dict(state["scalers"]["+".join(key)])
        assert scaler.get_scale() == tr.scalers[key].get_scale()


def test_an_unknown_precision_is_a_config_error():
    from genlab.config import apply_overrides

    with pytest.raises(ConfigError, match="precision"):
        apply_overrides({"train": TrainConfig()}, {"precision": "fp8"})


@pytest.mark.slow
def test_compiled_networks_train_and_save_under_their_own_names(tmp_path):
    """compile=true: the networks run through torch.compile (inductor on the CPU); the state dict keeps its
    keys, so checkpoints load into an uncompiled model for sampling."""
    try:
        tr = trainer("gan", "points", tmp_path, compile=True)
        keys = set(tr.model.state_dict())
        tr.train_step()
    except Exception as e:  # no C++ compiler, or a platform inductor does not support
        pytest.skip(f"torch.compile is not usable here: {type(e).__name__}: {str(e)[:200]}")
    fresh, _ = build("gan", "points")
    assert set(fresh.state_dict()) == keys
    fresh.load_state_dict(tr.model.state_dict())
    assert torch.isfinite(fresh.sample(4)).all()

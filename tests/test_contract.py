"""Contract tests, written once and run over every registered model and three kinds of toy data.

Each model name in ``genlab.registry.MODELS`` is crossed with 2-D points, 8x8 grey images (the MLP path)
and 28x28 grey images (the conv path, chosen by ``net='auto'``). The data are small random tensors built
directly as ``TensorData``: no files, no downloads; translation models (``domains = 2``) get a second random
domain. A model added to the registry is picked up here with no change to this file; its default config is
used, shrunk where it has the usual size fields.
"""

from __future__ import annotations

import dataclasses
import typing

import pytest
import torch

import genlab.models  # noqa: F401  (registers every built-in model)
from genlab.checkpoint import load_weights, save_checkpoint
from genlab.config import DataConfig, TrainConfig, apply_overrides
from genlab.data.base import DataInfo, TensorData
from genlab.models.base import GenerativeModel, Phase, Step
from genlab.registry import MODELS
from genlab.rundir import RunDir
from genlab.trainer import Trainer

MODEL_NAMES = MODELS.names()
BATCH = 16
N_EXAMPLES = 64
NUM_CLASSES = 3

# Size fields shrunk so that each case runs well under a second; a field is only ever made smaller.
SMALL_INTS = {"latent_dim": 4, "noise_dim": 4, "code_dim": 4, "z_dim": 4, "width": 8, "hidden_dim": 16,
              "channels": 8, "base_channels": 8}
SMALL_HIDDEN = 16


def test_registry_is_not_empty():
    assert {"vae", "gan"} <= set(MODEL_NAMES)


# ----------------------------------------------------------------------------------------------------
# data cases and model construction


def make_data(case: str, preferred_range: str, seed: int = 0, domains: int = 1) -> TensorData:
    """Random data of the case's kind; with domains=2 (translation models) a second domain x_b too."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(N_EXAMPLES) % NUM_CLASSES  # labels, for the conditional models
    if case == "points":
        shape, draw = (2,), lambda: torch.randn(N_EXAMPLES, 2, generator=g) * 2
        info = DataInfo("toy-points", "points", shape, NUM_CLASSES, "01", False, domains)  # points get range '01'
    else:
        side = {"img8": 8, "img28": 28}[case]
        shape, draw = (1, side, side), lambda: torch.rand(N_EXAMPLES, 1, side, side, generator=g)  # in [0, 1]
        info = DataInfo(f"toy-{case}", "image", shape, NUM_CLASSES, preferred_range, False, domains)
    x = draw()
    return TensorData(x, y, info, x_b=draw() if domains == 2 else None)


def small_config(cls: type[GenerativeModel]):
    cfg = cls.Config()
    hints = typing.get_type_hints(cls.Config)
    small = {}
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if f.name in SMALL_INTS and isinstance(v, int) and not isinstance(v, bool):
            small[f.name] = min(v, SMALL_INTS[f.name])
        elif "hidden" in f.name and typing.get_origin(hints[f.name]) is tuple and isinstance(v, tuple):
            small[f.name] = tuple(min(h, SMALL_HIDDEN) for h in v)
    return dataclasses.replace(cfg, **small)


def build(name: str, case: str, seed: int = 0) -> tuple[GenerativeModel, TensorData]:
    cls = MODELS.get(name)
    data = make_data(case, cls.preferred_range, domains=cls.domains)
    torch.manual_seed(seed)
    return cls(small_config(cls), data.info), data


CASES = ["points", "img8", "img28"]
# 28x28 images (the size of the image datasets' networks) cost most: in the full run, not the inner loop
PARAMS = [pytest.param((m, c), id=f"{m}-{c}", marks=[pytest.mark.slow] if c == "img28" else [])
          for m in MODEL_NAMES for c in CASES]


@pytest.fixture(params=PARAMS)
def built(request):
    name, case = request.param
    model, data = build(name, case)
    model.train()
    return name, case, model, data


# ----------------------------------------------------------------------------------------------------
# the real Trainer drives every test that trains (no copy of its step here)


def trainer_for(model: GenerativeModel, data: TensorData, steps: int = 1, seed: int = 0, tmp=None) -> Trainer:
    """A Trainer over `model` and `data` (its run directory is only written by fit(), which these tests
    never call), seeded like a training run."""
    torch.manual_seed(seed)
    cfg = TrainConfig(epochs=0, steps=steps, batch_size=BATCH, seed=seed)
    return Trainer(model, data, cfg, RunDir(tmp or "unused-run-dir"))


def train_steps(model: GenerativeModel, data: TensorData, steps: int, seed: int) -> None:
    model.train()
    trainer = trainer_for(model, data, steps, seed)
    for _ in range(steps):
        trainer.train_step()


def phases_of_one_step(trainer: Trainer):
    """(phase, batch, step) for one step, drawing batches as the Trainer does."""
    step = Step(trainer.step, trainer.total)
    batch = None
    for phase in trainer.phases:
        if phase.data or batch is None:
            batch = trainer.stream.next()
            step.new_minibatch()
        yield phase, batch, step


def snapshot(params) -> list[torch.Tensor]:
    return [p.detach().clone() for p in params]


def state_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def clone_state(model: torch.nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------------------------------
# (g) players and phases


def test_players_are_disjoint_and_cover_every_trainable_parameter(built):
    _, _, model, _ = built
    players = model.players()
    assert players, "a model has at least one player"
    seen: set[int] = set()
    for name, p in players.items():
        ids = [id(q) for q in p.parameters()]
        assert ids, f"player {name!r} has no parameters"
        assert len(set(ids)) == len(ids), f"player {name!r} lists a parameter twice"
        assert not (set(ids) & seen), f"player {name!r} shares parameters with another player"
        seen |= set(ids)
    trainable = {id(q) for q in model.parameters() if q.requires_grad}
    assert seen == trainable


def test_phases_have_names_and_update_every_player(built):
    _, _, model, _ = built
    phases = model.phases()
    players = set(model.players())
    assert phases, "a step has at least one phase"
    assert all(isinstance(ph, Phase) and ph.name and ph.players for ph in phases)
    assert {p for ph in phases for p in ph.players} == players, "a player that no phase updates"
    assert all(set(ph.players) <= players for ph in phases)
    names = {}
    for ph in phases:  # one name per update: a repeated name (k D steps) is the same update
        assert names.setdefault(ph.name, ph.players) == ph.players, f"phase name {ph.name!r} names two updates"
    assert phases[0].data, "the first phase of a step must draw a batch"


# ----------------------------------------------------------------------------------------------------
# (a) losses


def test_every_phase_loss_is_a_finite_scalar(built):
    _, _, model, data = built
    trainer = trainer_for(model, data)
    for phase, batch, step in phases_of_one_step(trainer):
        out = trainer.backward(phase, batch, step)
        assert "loss" in out, f"phase {phase.name!r} returned no 'loss'"
        for k, v in out.items():
            assert isinstance(v, torch.Tensor), f"{phase.name}: {k} is {type(v).__name__}, not a tensor"
            assert v.dim() == 0, f"{phase.name}: {k} has shape {tuple(v.shape)}, expected a scalar"
            assert v.is_floating_point(), f"{phase.name}: {k} has dtype {v.dtype}"
            assert torch.isfinite(v), f"{phase.name}: {k} = {v.item()}"
        assert out["loss"].requires_grad, f"{phase.name}: the loss does not depend on any parameter"
        trainer.update(phase, step)


# ----------------------------------------------------------------------------------------------------
# (b) gradients reach exactly the phase's players, (c) an update moves them and nothing else, and the
# frozen players' buffers (BatchNorm statistics) move only in the minibatch's shared forward passes


class _CountingStep(Step):
    """A Step that notes when a shared forward pass runs, for the BatchNorm bookkeeping below."""

    def __init__(self, step: Step, counts: dict):
        super().__init__(step.index, step.total)
        self._memo, self._counts = step._memo, counts

    def shared(self, key, fn):
        def counted():
            self._counts["shared"] = True
            try:
                return fn()
            finally:
                self._counts["shared"] = False
        return super().shared(key, counted)


def _bn_modules(player) -> list[torch.nn.Module]:
    return [m for mod in player.modules for m in mod.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


def test_a_phase_trains_its_players_only_and_leaves_frozen_buffers_alone(built):
    _, _, model, data = built
    trainer = trainer_for(model, data)
    players = model.players()
    named = {id(q): n for n, q in model.named_parameters()}
    for phase, batch, step in phases_of_one_step(trainer):
        params = {n: snapshot(p.parameters()) for n, p in players.items()}
        buffers = {n: snapshot(p.buffers()) for n, p in players.items()}
        # count each BatchNorm module's runs inside shared passes: the only ones a frozen player keeps
        counts, runs = {"shared": False}, {}
        hooks = [m.register_forward_hook(lambda mod, i, o: runs.__setitem__(
                    id(mod), runs.get(id(mod), 0) + counts["shared"]))
                 for p in players.values() for m in _bn_modules(p)]
        model.zero_grad(set_to_none=True)
        try:
            out = trainer.backward(phase, batch, _CountingStep(step, counts))
        finally:
            for h in hooks:
                h.remove()
        for name, p in players.items():
            for q in p.parameters():
                where = f"phase {phase.name!r}, parameter {named.get(id(q), '?')} of {name!r}"
                if name in phase.players:
                    assert q.grad is not None, f"{where}: no gradient"
                    assert torch.isfinite(q.grad).all(), f"{where}: non-finite gradient"
                else:
                    assert q.grad is None, f"{where}: a frozen player received a gradient"
        assert any(q.grad.abs().sum() > 0 for n in phase.players for q in players[n].parameters()), \
            f"phase {phase.name!r}: every gradient is zero (a detached loss?)"
        trainer.update(phase, step)
        for name, p in players.items():
            changed = [not torch.equal(a, b.detach()) for a, b in zip(params[name], p.parameters())]
            if name in phase.players:
                assert all(changed), (f"phase {phase.name!r}: {changed.count(False)} of {len(changed)} "
                                      f"parameter tensors of {name!r} did not move")
                continue
            assert not any(changed), f"phase {phase.name!r} moved parameters of {name!r}"
            for m in _bn_modules(p):
                tracked = int(m.num_batches_tracked)
                before = dict(zip([id(b) for b in p.buffers()], buffers[name]))
                assert tracked - int(before[id(m.num_batches_tracked)]) == runs.get(id(m), 0), (
                    f"phase {phase.name!r} updated the BatchNorm statistics of frozen player {name!r} outside "
                    f"the minibatch's shared forward passes")
                if not runs.get(id(m)):
                    assert torch.equal(before[id(m.running_mean)], m.running_mean)
                    assert torch.equal(before[id(m.running_var)], m.running_var)
        assert out["loss"].requires_grad


def test_a_frozen_players_buffers_are_restored_exactly():
    """frozen(): a forward pass of a frozen network in train mode leaves its running statistics as they were,
    while the active player's move; a shared pass keeps its updates."""
    from genlab.models.base import OptimSpec, Player, frozen

    a, b = torch.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    players = {"a": Player([a], OptimSpec()), "b": Player([b], OptimSpec())}
    x = torch.randn(8, 3) + 5
    with frozen(players, ["a"]) as ctx:
        a(x), b(x)
        assert ctx.params == list(a.parameters())
    assert torch.equal(b.running_mean, torch.zeros(3)) and int(b.num_batches_tracked) == 0
    assert not torch.equal(a.running_mean, torch.zeros(3)) and int(a.num_batches_tracked) == 1
    step = Step()
    with frozen(players, ["a"]) as ctx, step.phase(ctx):
        b(x)  # phase-local: discarded
        step.shared("b", lambda: b(x))  # the minibatch's pass: kept, once
        b(x)
    assert int(b.num_batches_tracked) == 1
    torch.testing.assert_close(b.running_mean, 0.1 * x.mean(0))  # one update, momentum 0.1, from 0


def test_alphagan_runs_each_network_once_per_minibatch_as_algorithm_1():
    """One trainer step of alpha-GAN: the encoder runs once, the generator twice (x^ = G(E(x)), x_p = G(z)),
    each discriminator once per input set, and one prior draw serves the step."""
    model, data = build("alphagan", "img28")
    calls = {"encoder": 0, "decoder": 0, "discriminator": 0, "code_discriminator": 0}
    for name in calls:
        getattr(model, name).register_forward_hook(lambda m, i, o, n=name: calls.__setitem__(n, calls[n] + 1))
    draws = []
    prior = model.prior
    model.prior = lambda n, generator=None: draws.append(n) or prior(n, generator)
    trainer_for(model, data).train_step()
    assert calls == {"encoder": 1, "decoder": 2, "discriminator": 3, "code_discriminator": 2}
    assert draws == [BATCH]


def test_frozen_generator_statistics_do_not_depend_on_the_number_of_d_steps():
    """A GAN's G batch-norm statistics move in G's phase only: one update per step, whatever the number k
    of D steps (each of which runs G on fresh noise)."""
    stats = []
    for k in (1, 4):
        model, data = build("dcgan", "img28")
        model.cfg = dataclasses.replace(model.cfg, d_steps=k)
        trainer = trainer_for(model, data)
        trainer.train_step()
        bn = _bn_modules(model.players()["gen"])
        stats.append([int(m.num_batches_tracked) for m in bn])
    assert stats[0] == stats[1] and all(n == 1 for n in stats[0])


# ----------------------------------------------------------------------------------------------------
# (d) sampling


def test_eval_samples_are_seeded_shaped_and_in_range(built):
    _, _, model, data = built
    train_steps(model, data, steps=1, seed=0)  # so that batch-norm statistics are not at their init
    model.eval()
    state = clone_state(model)
    n = 5
    a = model.sample(n, generator=seeded(7))
    b = model.sample(n, generator=seeded(7))
    c = model.sample(n, generator=seeded(8))
    info = model.info
    assert a.shape == (n, *info.shape)
    assert a.dtype == torch.float32
    assert torch.equal(a, b), "the same seeded generator gave different samples"
    assert not torch.equal(a, c), "samples do not depend on the generator"
    assert not a.requires_grad
    assert torch.isfinite(a).all()
    assert state_equal(state, model.state_dict()), "sampling in eval mode changed the model's state"
    out = info.to_data_space(a)
    if info.kind == "image":
        lo = {"01": 0.0, "pm1": -1.0}[info.range]
        assert a.min() >= lo and a.max() <= 1.0, f"samples in [{a.min()}, {a.max()}] for range {info.range}"
        assert out.min() >= 0.0 and out.max() <= 1.0
        # the mapping to data space is the identity / affine map, not a clamp hiding out-of-range values
        expected = a if info.range == "01" else (a + 1) / 2
        torch.testing.assert_close(out, expected, rtol=0, atol=1e-6)
    else:
        assert torch.equal(out, a)


def test_samples_do_not_depend_on_the_global_generator_when_one_is_given(built):
    _, _, model, _ = built
    model.eval()
    torch.manual_seed(1)
    a = model.sample(4, generator=seeded(3))
    torch.manual_seed(2)
    b = model.sample(4, generator=seeded(3))
    assert torch.equal(a, b)


# ----------------------------------------------------------------------------------------------------
# (e) seeding


def test_same_seed_gives_the_same_model_and_the_same_training(built):
    name, case, model, data = built
    other, _ = build(name, case, seed=0)
    assert state_equal(clone_state(model), clone_state(other)), "same seed, different initial weights"
    third, _ = build(name, case, seed=1)
    assert not state_equal(clone_state(model), clone_state(third)), "the seed does not reach the weights"

    init = clone_state(model)
    train_steps(model, data, steps=3, seed=5)
    train_steps(other, data, steps=3, seed=5)
    assert not state_equal(init, clone_state(model)), "training did not change the model"
    assert state_equal(clone_state(model), clone_state(other)), "same seeds, different weights after training"


# ----------------------------------------------------------------------------------------------------
# (f) checkpoint round trip


def test_safetensors_round_trip_restores_state_and_samples(built, tmp_path):
    name, case, model, data = built
    train_steps(model, data, steps=2, seed=0)
    model.eval()
    path = save_checkpoint(tmp_path, 2, model, {"step": 2})
    fresh, _ = build(name, case, seed=123)
    fresh.eval()
    assert not state_equal(clone_state(model), clone_state(fresh))
    load_weights(path, fresh)
    saved, loaded = model.state_dict(), fresh.state_dict()
    assert saved.keys() == loaded.keys()
    for k in saved:
        assert saved[k].dtype == loaded[k].dtype, k
        assert torch.equal(saved[k], loaded[k]), k
    assert torch.equal(model.sample(6, generator=seeded(11)), fresh.sample(6, generator=seeded(11)))


# ----------------------------------------------------------------------------------------------------
# (h) every config field can be set from the command line


def _cli_text(v) -> str:
    if isinstance(v, tuple):
        return ",".join(str(e) for e in v)
    return str(v)


def _cli_values(tp, default) -> list:
    """The default plus, where the type makes it safe, other values a user could type."""
    values = [default]
    if typing.get_origin(tp) is typing.Literal:
        values += [c for c in typing.get_args(tp) if c != default]
    elif tp is bool:
        values.append(not default)
    return values


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_config_field_can_be_set_from_the_command_line(name):
    cls = MODELS.get(name)
    assert dataclasses.is_dataclass(cls.Config) and isinstance(cls.Config, type)
    default = cls.Config()
    hints = typing.get_type_hints(cls.Config)
    sections = {"train": TrainConfig(), "data": DataConfig(), "model": default}  # as the CLI builds them
    fields = dataclasses.fields(default)
    assert fields, "a model config without fields cannot be tuned"
    for f in fields:
        for value in _cli_values(hints[f.name], getattr(default, f.name)):
            text = _cli_text(value)
            for key in (f"model.{f.name}", f"model.{f.name.replace('_', '-')}"):
                got = getattr(apply_overrides(sections, {key: text})["model"], f.name)
                assert got == value and type(got) is type(value) or (
                    type(value) is int and type(got) is float and got == value), (
                    f"{name}: {key}={text!r} gave {got!r} ({type(got).__name__}), expected {value!r}")


@pytest.mark.parametrize("name", [n for n in MODEL_NAMES if MODELS.get(n).named_presets])
def test_named_presets_set_valid_fields_and_are_applied(name):
    """`--preset P` of every model: its keys are fields of the sections it names, and make_configs applies them."""
    from genlab.api import make_configs

    cls = MODELS.get(name)
    for preset, sections in cls.named_presets.items():
        cfgs = make_configs(name, "digits", {"preset": preset})
        assert cfgs["preset"] == preset
        for section, values in sections.items():
            for key, value in values.items():
                assert getattr(cfgs[section], key) == (tuple(value) if isinstance(value, list) else value), \
                    (name, preset, section, key)


DATASET_OF = {"points": "ring8", "image": "digits", "small-image": "digits", "image-28": "fashion-mnist",
              "image-32": "cifar10", "image-64": "celeba"}


@pytest.mark.parametrize("name", [n for n in MODEL_NAMES if MODELS.get(n).presets])
def test_defaults_per_kind_of_data_set_valid_fields_and_are_applied(name):
    """A model's defaults for a kind of data (``presets``): keyed by a kind or a profile, sections model and
    train, each key a field of its section; `genlab train` with no option applies them (the profile's over the
    kind's), and an option given on the command line still wins."""
    from genlab.api import make_configs
    from genlab.data.base import PROFILES
    from genlab.registry import DATASETS

    cls = MODELS.get(name)
    for kind, sections in cls.presets.items():
        assert kind in ("points", "image", *PROFILES) and set(sections) <= {"model", "train"}, (name, kind)
        dataset = DATASET_OF[kind]
        spec = DATASETS.get(dataset)
        cfgs = make_configs(name, dataset)
        for section, values in cls.defaults_for(spec.kind, spec.profile).items():
            for key, value in values.items():
                assert getattr(cfgs[section], key) == (tuple(value) if isinstance(value, list) else value), \
                    (name, kind, section, key)
        for section, values in sections.items():
            for key, value in values.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    other = value + 1 if isinstance(value, int) else value / 2
                    given = make_configs(name, dataset, {f"{section}.{key}": str(other)})
                    assert getattr(given[section], key) == other, (name, kind, section, key)


def test_a_length_asked_for_replaces_the_default_length_whole():
    """unrolled's default on points is a number of steps: --epochs N must still give N epochs."""
    from genlab.api import make_configs

    assert make_configs("unrolled", "ring8")["train"].steps == 2500
    asked = make_configs("unrolled", "ring8", {"epochs": "2"})["train"]
    assert (asked.epochs, asked.steps) == (2, 0)
    assert make_configs("unrolled", "ring8", {"steps": "7", "epochs": "0"})["train"].steps == 7
    assert make_configs("unrolled", "ring8", train={"epochs": 3})["train"].steps == 0

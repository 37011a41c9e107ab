"""One process of the data-parallel tests (tests/test_distributed.py), started by torchrun.

    torchrun --standalone --nproc-per-node 2 tests/distributed_worker.py SCENARIO OUT

Every rank writes what it holds under OUT as rank-R files; the test compares them. Scenarios:

- ``steps``: every case of CASES trained a few steps (weights after the steps, buffers after a save),
  the noise each rank draws, a model with no noise at the global batch (compared with one process by the
  test), and a gan trained N steps straight against N/2 steps plus a resume to N (through the API).
- ``nan``: a VAE run through the CLI whose loss turns NaN on rank 1 only from step 4; each rank writes its
  exit code.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import torch
from torch import nn

from genlab import distributed
from genlab.config import TrainConfig
from genlab.data.base import Batch, DataInfo, TensorData
from genlab.models.base import GenerativeModel, OptimSpec, Player
from genlab.registry import MODELS
from genlab.rundir import RunDir
from genlab.trainer import Trainer

sys.path.insert(0, str(Path(__file__).parent))
from test_contract import build  # noqa: E402  (the contract tests' toy data and small configs)

STEPS = 3
BATCH = 16
# (model, data case, model config changes): the models whose steps differ in kind (several critic
# updates, a gradient penalty, unrolled updates, hybrids with shared passes, conv nets with BatchNorm)
CASES = [("vae", "img8", {}), ("gan", "points", {"d_steps": 5}), ("wgan-gp", "points", {}),
         ("unrolled", "points", {}), ("alphagan", "img8", {}), ("cyclegan", "img8", {}), ("dcgan", "img28", {})]


class Deterministic(GenerativeModel):
    """A model with no noise anywhere (a linear autoencoder with a squared error): one process at batch B
    and two at the same global batch must take the same step."""

    @dataclasses.dataclass
    class Config:
        pass

    def __init__(self, cfg, info: DataInfo):
        super().__init__(cfg, info)
        d = int(torch.tensor(info.shape).prod())
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(d, 4), nn.Linear(4, d))

    def players(self):
        return {"net": Player([self.net], OptimSpec("adam", 1e-2, (0.9, 0.999)))}

    def loss(self, phase, batch: Batch, step):
        return {"loss": (self.net(batch.x) - batch.x.flatten(1)).pow(2).mean()}


def deterministic_run(dist: distributed.Dist, run: RunDir) -> Deterministic:
    """The Deterministic model trained STEPS steps at global batch BATCH on fixed data."""
    g = torch.Generator().manual_seed(0)
    info = DataInfo("toy", "image", (1, 8, 8), 0, "01", False, 1)
    data = TensorData(torch.rand(64, 1, 8, 8, generator=g), None, info)
    torch.manual_seed(0)
    model = Deterministic(Deterministic.Config(), info)
    trainer = Trainer(model, data, TrainConfig(batch_size=BATCH, steps=STEPS, device="cpu"), run, dist=dist)
    for _ in range(STEPS):
        trainer.train_step()
    return model


def evaluation_draws(dist: distributed.Dist) -> dict:
    """What an evaluation splits across the ranks, in several chunks: generated samples and the importance
    terms of a VAE (every rank gets all of them)."""
    from genlab.metrics.importance import importance_terms
    from genlab.metrics.samples import draw_samples

    model, data = build("vae", "img8")
    model.eval()
    samples = draw_samples(model, 50, seed=5, chunk=16, dist=dist)
    terms = importance_terms(model, data.x[:20], None, 8, seed=7, rows=32, dist=dist)
    return {"samples": samples, "log_px": terms.log_px, "kl": terms.kl}


def save(obj, out: Path, name: str, dist: distributed.Dist) -> None:
    torch.save(obj, out / f"{name}-rank{dist.rank}.pt")


def scenario_steps(dist: distributed.Dist, out: Path) -> None:
    torch.manual_seed(0)
    distributed.seed_rank(dist, 0)
    save(torch.randn(8), out, "noise", dist)
    for name, case, changes in CASES:
        model, data = build(name, case)
        if changes:
            torch.manual_seed(0)
            model = MODELS.get(name)(dataclasses.replace(model.cfg, **changes), model.info)
        run = RunDir(out / name)
        if dist.main:
            run.checkpoints.mkdir(parents=True)
        distributed.barrier(dist)
        distributed.seed_rank(dist, 0)
        trainer = Trainer(model, data, TrainConfig(batch_size=BATCH, steps=STEPS, device="cpu"), run, dist=dist)
        for _ in range(STEPS):
            trainer.train_step()
        save({k: p.detach().clone() for k, p in model.named_parameters()}, out, f"{name}-params", dist)
        trainer.save()  # every rank takes rank 0's BatchNorm statistics first
        save({k: b.clone() for k, b in model.named_buffers()}, out, f"{name}-buffers", dist)
    save(deterministic_run(dist, RunDir(out / "deterministic")).state_dict(), out, "deterministic", dist)
    save(evaluation_draws(dist), out, "evaluation", dist)

    from genlab.api import make_configs, resume, train

    def cfgs(steps: int) -> dict:
        return make_configs("gan", "ring8", {"steps": str(steps), "epochs": "0", "batch_size": "32",
                                             "hidden": "16,16", "subset": "512", "ckpt_every": "0", "log_every": "1"})

    train("gan", out / "straight", cfgs(6), progress=False, pictures=False)
    train("gan", out / "halves", cfgs(3), progress=False, pictures=False)
    resume(out / "halves", steps=6, progress=False)


def scenario_nan(dist: distributed.Dist, out: Path) -> None:
    from genlab.cli import main
    from genlab.models.vae import VAE

    if dist.rank == 1:
        plain = VAE.loss

        def poisoned(self, phase, batch, step):
            res = plain(self, phase, batch, step)
            return {**res, "loss": res["loss"] * float("nan")} if step.index >= 3 else res

        VAE.loss = poisoned
    code = main(["train", "vae", "--dataset", "digits", "--out", str(out / "run"), "--steps", "8",
                 "batch_size=32", "ckpt_every=2", "hidden=16", "latent_dim=2"])
    (out / f"exit-rank{dist.rank}").write_text(str(code))
    sys.exit(code)


if __name__ == "__main__":
    scenario, folder = sys.argv[1], Path(sys.argv[2])
    dist = distributed.setup("cpu")
    try:
        {"steps": scenario_steps, "nan": scenario_nan}[scenario](dist, folder)
    finally:
        distributed.teardown()

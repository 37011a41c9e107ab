"""Would training many small runs as one batched computation pay on a CPU? One step of R runs of a model
(its real loss and networks: the quick mode-collapse table's GAN, 128-128 MLPs on ring8, batch 512), taken
two ways on one thread:

- one after another: R of genlab's trainers, each taking its own step (what a reproduction does today),
- together: the R runs' weights stacked, each phase's loss differentiated for all R at once by
  ``torch.func.vmap(torch.func.grad(...))`` and one fused Adam over the stacked weights (each run's noise
  differs; the point here is the arithmetic's speed, not equality with a run trained alone).

    python benchmarks/grouped.py [--model gan] [--runs 1,3,6] [--seconds 3]

Prints milliseconds per step of all R runs both ways, their ratio (above 1: batching is faster), and the same
step's matrix products alone (every forward and backward pass of Algorithm 1 over the linear layers, on the
same shapes), the floor neither way can go below. Both ways are timed in one process, alternately, by the
process's CPU clock.
Last, what that floor means for `genlab reproduce mode-collapse --preset quick`: a lower bound on its wall
time on 2 cores from the entries whose every update does at least the plain GAN's products (the gan, dcgan,
cgan, fgan, infogan and bigan entries, at the quick preset's 1,500 updates, 3 seeds, 2 datasets), counting
nothing for the other entries and nothing but the products.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from genlab import api
from genlab.data.base import Batch, load_data
from genlab.models.base import Step
from genlab.rundir import RunDir
from genlab.trainer import Trainer, make_optimizer
from timing import seconds_per_call  # benchmarks/timing.py


class _Loss(nn.Module):
    """model.loss as a module's forward, so that functional_call can run it on any weights."""

    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, phase: str, x: torch.Tensor, index: int):
        return self.m.loss(phase, Batch(x, None), Step(index, 10**6))["loss"]


def trainers(model: str, overrides: dict, runs: int, tmp: str) -> list[Trainer]:
    out = []
    for seed in range(runs):
        cfgs = api.make_configs(model, "ring8", {**overrides, "seed": str(seed)})
        torch.manual_seed(seed)
        data = load_data(cfgs["data"], preferred_range="pm1", seed=seed)
        net = api.build_model(model, cfgs["model"], data.info, torch.device("cpu"))
        out.append(Trainer(net, data, cfgs["train"], RunDir(f"{tmp}/{seed}")))
    return out


class Together:
    """The R trainers' models as one: stacked weights, one optimizer per player, vmapped gradients."""

    def __init__(self, group: list[Trainer]):
        self.group = group
        first = group[0]
        self.template = _Loss(first.model)
        names = {id(p): f"m.{n}" for n, p in first.model.named_parameters()}
        self.stacked = {f"m.{n}": torch.stack([dict(t.model.named_parameters())[n].detach() for t in group])
                        .requires_grad_() for n, _ in first.model.named_parameters()}
        self.owner = {name: [names[id(p)] for p in first.players[name].parameters()] for name in first.players}
        self.optimizers = {name: make_optimizer([self.stacked[n] for n in keys], first.players[name].optim)
                           for name, keys in self.owner.items()}
        self.phases = first.phases

    def step(self, index: int) -> None:
        x = None
        for phase in self.phases:
            if phase.data or x is None:
                x = torch.stack([t.stream.next().x for t in self.group])
            active = [n for p in phase.players for n in self.owner[p]]
            others = {n: v.detach() for n, v in self.stacked.items() if n not in active}

            def loss(mine, rest, xr, name=phase.name):
                return functional_call(self.template, {**mine, **rest}, (name, xr, index))

            grads = vmap(grad(loss), randomness="different")({n: self.stacked[n] for n in active}, others, x)
            for n in active:
                self.stacked[n].grad = grads[n]
            for p in phase.players:
                self.optimizers[p].step()


def matmul_floor(model, batch: int, seconds: float) -> float:
    """Seconds per step of the step's matrix products alone, for a GAN's Algorithm 1 with k D steps: each D
    step runs G forward once and D forward and backward (weights, inputs) on real and generated points; the G
    step runs G forward and backward and D forward and backward for its inputs. Each pass over a layer is one
    product of its forward shape (the backward's are the same sizes, transposed)."""
    k = model.cfg.d_steps
    passes = {model.generator: k + 3, model.discriminator: 6 * k + 2}
    work = []
    for net, n in passes.items():
        for m in net.modules():
            if isinstance(m, nn.Linear):
                work += [(torch.randn(batch, m.in_features), torch.randn(m.out_features, m.in_features))] * n

    def products():
        for x, w in work:
            torch.mm(x, w.t())

    return seconds_per_call(products, seconds, time.process_time)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="gan", help="a model of the GAN family (default gan)")
    p.add_argument("--runs", default="1,3,6", help="group sizes R (default 1,3,6)")
    p.add_argument("--seconds", type=float, default=3.0, help="CPU seconds per measurement (default 3)")
    args = p.parse_args()
    torch.set_num_threads(1)
    overrides = {"hidden": "128,128", "batch_size": "512"}
    print(f"torch {torch.__version__}, 1 thread; {args.model} on ring8, {overrides}")
    print(f"{'R':>3s} {'one after another':>18s} {'together (vmap)':>16s} {'ratio':>6s} {'products alone':>15s}")
    with tempfile.TemporaryDirectory() as tmp:
        per_update = matmul_floor(trainers(args.model, overrides, 1, tmp)[0].model, 512, args.seconds / 3)
        for r in (int(v) for v in args.runs.split(",")):
            group = trainers(args.model, overrides, r, tmp)
            together = Together(trainers(args.model, overrides, r, tmp))
            solo = [0.0, 0]
            joint = [0.0, 0]
            index = 0
            while min(solo[0], joint[0]) < args.seconds:  # alternate, so both see the same machine
                t = time.process_time()
                for trainer in group:
                    trainer.train_step()
                solo[0] += time.process_time() - t
                solo[1] += 1
                t = time.process_time()
                together.step(index)
                joint[0] += time.process_time() - t
                joint[1] += 1
                index += 1
            a, b = solo[0] / solo[1], joint[0] / joint[1]
            print(f"{r:3d} {a * 1e3:15.1f} ms {b * 1e3:13.1f} ms {a / b:6.2f} {r * per_update * 1e3:12.1f} ms")
    if args.model == "gan":
        from genlab.reproduce.mode_collapse import DATASETS, ENTRIES, PRESETS

        preset = PRESETS["quick"]
        heavy = [k for k, e in ENTRIES.items() if "quick" in e.presets and e.cost >= 1 and "pack" not in e.overrides
                 and e.model in ("gan", "dcgan", "cgan", "fgan", "infogan", "bigan")]
        updates = len(heavy) * preset.steps * preset.seeds * len(DATASETS)
        print(f"reproduce mode-collapse --preset quick: {len(heavy)} entries ({', '.join(heavy)}) make {updates:,} "
              f"updates of at least the GAN's products: at {per_update * 1e3:.1f} ms each, at least "
              f"{updates * per_update / 2 / 60:.1f} min on 2 cores for them alone")


if __name__ == "__main__":
    main()

"""Data-parallel training on ``torch.distributed``, as StyleGAN2-ADA's training loop does it (no
DistributedDataParallel wrapper around multi-player models).

Launched by ``torchrun`` (or ``genlab train ... --nproc N``, which starts it), every process (rank) builds
the same model from the same seed and draws the same global minibatch from the same data stream; each
trains on its slice of it (``batch_size`` stays the global batch, so dynamic binarization and the stream's
state are those of a single process) with its own noise (the global generator seeded by seed and rank;
rank 0 draws what a single process would). In every phase, after ``backward``, the phase's gradients are
flattened into one buffer (zeros where a parameter got none, in a fixed order) together with the loss,
summed over ranks by one ``all_reduce`` and divided by the world size; every rank then takes the same
optimizer step, so the weights stay bitwise equal, and every rank sees the same averaged loss: a NaN on any
rank stops all of them together. Rank 0 alone writes the run directory (checkpoints, samples, metrics);
BatchNorm statistics stay per rank and are taken from rank 0 before each save and sample.

With one process (no ``torchrun``, or ``--nproc 1``) every function here is the identity.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Iterable, Optional

import torch

from .data.base import Batch
from .errors import ConfigError

# how long a collective operation waits for the other ranks: long enough for rank 0's evaluation during
# training (the others wait meanwhile); a rank that failed is stopped sooner by torchrun, which ends them all
TIMEOUT = datetime.timedelta(minutes=30)


@dataclass(frozen=True)
class Dist:
    """This process's place in the job: rank r of `world` processes (local_rank on its machine)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


SINGLE = Dist()


def launched() -> bool:
    """Whether torchrun (or another launcher of torch.distributed) started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def launch(nproc: int, argv: list[str]) -> int:
    """`genlab ... --nproc N`: run the same command in N processes on this machine, started by PyTorch's own
    launcher (torchrun's standalone rendezvous); returns the exit code of the first process that failed."""
    if nproc < 1:
        raise ConfigError(f"--nproc {nproc}: the number of processes must be at least 1")
    if launched():
        raise ConfigError("--nproc starts torchrun itself; under torchrun leave it out (torchrun's "
                          "--nproc-per-node says how many processes)")
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    rest, skip = [], False
    for i, word in enumerate(argv):
        if skip:
            skip = False
        elif word == "--nproc":
            skip = True
        elif not word.startswith("--nproc="):
            rest.append(word)
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    config = get_args_parser().parse_args(["--standalone", f"--nproc-per-node={nproc}", "-m", "genlab", *rest])
    try:
        run(config)
    except ChildFailedError as e:
        first = min(e.failures)
        return e.failures[first].exitcode
    return 0


def setup(device_type: str) -> Dist:
    """Join the process group that torchrun described in the environment: gloo on CPUs, NCCL on GPUs."""
    if not launched():
        return SINGLE
    import torch.distributed as tdist

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if not tdist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        tdist.init_process_group(backend, timeout=TIMEOUT)
    return Dist(rank, world, local)


def device_for(dist: Dist, name: str) -> str:
    """With several processes on CUDA, each rank takes the GPU of its local rank."""
    if dist.enabled and name == "cuda":
        torch.cuda.set_device(dist.local_rank)
        return f"cuda:{dist.local_rank}"
    return name


def teardown() -> None:
    if launched():
        import torch.distributed as tdist

        if tdist.is_initialized():
            tdist.destroy_process_group()


def check_batch(dist: Dist, batch_size: int, pack: int = 1) -> None:
    if dist.enabled and (batch_size % dist.world or (batch_size // dist.world) % pack):
        raise ConfigError(f"batch_size={batch_size} must split evenly over {dist.world} processes"
                          + (f" into slices that are multiples of pack={pack}" if pack > 1 else "")
                          + f"; use a multiple of {dist.world * pack}")


def shard(dist: Dist, batch: Batch) -> Batch:
    """This rank's contiguous slice of the global minibatch."""
    if not dist.enabled:
        return batch
    n = batch.x.shape[0] // dist.world
    cut = slice(dist.rank * n, (dist.rank + 1) * n)
    return Batch(batch.x[cut], None if batch.y is None else batch.y[cut],
                 None if batch.x_b is None else batch.x_b[cut])


def average_gradients(dist: Dist, params: list[torch.nn.Parameter], loss: torch.Tensor) -> torch.Tensor:
    """The ranks' mean gradient in every parameter's .grad and their mean loss (returned): one all_reduce of a
    flat buffer holding every gradient (zeros for parameters that got none) and the loss."""
    if not dist.enabled:
        return loss
    import torch.distributed as tdist

    flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params]
                     + [loss.detach().reshape(1).to(params[0].dtype)])
    tdist.all_reduce(flat)
    flat /= dist.world
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = flat[offset:offset + n].view_as(p).clone()
        offset += n
    return flat[-1]


def any_rank(dist: Dist, flag: bool, device: torch.device | str = "cpu") -> bool:
    """Whether `flag` is true on any rank (every rank gets the same answer)."""
    if not dist.enabled:
        return flag
    import torch.distributed as tdist

    t = torch.tensor([1.0 if flag else 0.0], device=device)
    tdist.all_reduce(t, op=tdist.ReduceOp.MAX)
    return bool(t.item() > 0)


def chunked(dist: Dist, n_chunks: int, compute) -> list:
    """[compute(0), ..., compute(n_chunks - 1)] on every rank, rank r computing the chunks c with
    c % world == r (evaluation split across the processes: each chunk seeds its own noise from its index, so
    the result is the single process's)."""
    if not dist.enabled:
        return [compute(c) for c in range(n_chunks)]
    import torch.distributed as tdist

    mine = {c: _to_cpu(compute(c)) for c in range(dist.rank, n_chunks, dist.world)}
    every: list = [None] * dist.world
    tdist.all_gather_object(every, mine)
    merged = {c: v for part in every for c, v in part.items()}
    return [merged[c] for c in range(n_chunks)]


def _to_cpu(value):
    return value.cpu() if isinstance(value, torch.Tensor) else value


def chunk_seed(seed: int, chunk: int) -> int:
    """The seed of chunk `chunk` of a computation seeded by `seed` (any number of processes draws the same)."""
    return (seed * 1_000_003 + chunk) % 2**63


def barrier(dist: Dist) -> None:
    if dist.enabled:
        import torch.distributed as tdist

        tdist.barrier()


def broadcast_buffers(dist: Dist, modules: Iterable[torch.nn.Module]) -> None:
    """Every rank takes rank 0's buffers (BatchNorm statistics), e.g. before a save or a sample grid."""
    if not dist.enabled:
        return
    import torch.distributed as tdist

    for m in modules:
        for b in m.buffers():
            tdist.broadcast(b, src=0)


def broadcast_parameters(dist: Dist, module: torch.nn.Module) -> None:
    """Rank 0's weights everywhere (at the start: every rank built the same model, this makes sure)."""
    if not dist.enabled:
        return
    import torch.distributed as tdist

    with torch.no_grad():
        for p in module.parameters():
            tdist.broadcast(p.data, src=0)


def gather_rng(dist: Dist) -> list[torch.Tensor]:
    """Every rank's CPU random-generator state, in rank order (all ranks get the list)."""
    state = torch.get_rng_state()
    if not dist.enabled:
        return [state]
    import torch.distributed as tdist

    out = [torch.empty_like(state) for _ in range(dist.world)]
    tdist.all_gather(out, state)
    return out


def seed_rank(dist: Dist, seed: int) -> None:
    """Noise seeded by (seed, rank): rank 0 keeps the single-process stream, the others get their own."""
    if dist.enabled and dist.rank > 0:
        torch.manual_seed(seed * 1_000_003 + dist.rank)


def restore_rng(dist: Dist, states: Optional[list[torch.Tensor]], seed: int, step: int) -> Optional[str]:
    """Set this rank's generator from a checkpoint's per-rank states; returns a warning when the checkpoint
    was written by another number of processes (the stream then continues from a seed, not exactly)."""
    if states is not None and len(states) == dist.world:
        torch.set_rng_state(states[dist.rank])
        return None
    if states is not None and dist.rank < len(states) and dist.world == 1:
        torch.set_rng_state(states[0])
    else:
        torch.manual_seed((seed * 1_000_003 + dist.rank) * 1_000_033 + step)
    saved = 1 if states is None else len(states)
    return (f"this run was checkpointed by {saved} process{'es' if saved != 1 else ''} and resumes with "
            f"{dist.world}: the weights and data stream continue exactly, the noise does not")

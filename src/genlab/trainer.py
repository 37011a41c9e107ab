"""The one trainer that drives every model.

It owns the optimizers, the loop, the device, seeding, logging to ``metrics.jsonl``, fixed-noise sample
grids, checkpoints, exact resume, Ctrl-C handling and the NaN/inf guard. A model only says what its
players are, which phases make a step, and what each phase's loss is (see ``models/base.py``).
"""

from __future__ import annotations

import math
import shutil
import signal
import sys
import threading
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from . import distributed
from .checkpoint import (STATE, latest_checkpoint, load_state, load_weights, prune_checkpoints, save_checkpoint,
                         step_of)
from .config import TrainConfig
from .data.base import Batch, BatchStream, TensorData
from .distributed import SINGLE, Dist
from .errors import ConfigError, GenlabError, NonFiniteLossError
from .live_eval import LiveEvaluation
from .models.base import GenerativeModel, OptimSpec, Phase, Step, frozen
from .plots import plot_curves, samples_over_epochs, save_image_grid, save_points
from .progress import Progress
from .report.live import refresh_run_report
from .rundir import RunDir, step_dir
from .runfiles import bad, check_optimizer_state, check_state

GRID_SEED = 1234  # the fixed noise of the per-epoch sample grids
AUTOCAST = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class Interrupted(GenlabError):
    """Training stopped by Ctrl-C (exit code 130) or SIGTERM (143) after saving a checkpoint."""

    exit_code = 130

    def __init__(self, message: str, exit_code: int = 130):
        super().__init__(message)
        self.exit_code = exit_code


def make_optimizer(params: list[torch.nn.Parameter], spec: OptimSpec) -> torch.optim.Optimizer:
    if spec.name == "adam":
        # the fused kernel updates all tensors in one pass: about 15% more images/s for an MLP VAE on a CPU
        fused = all(p.device.type in ("cpu", "cuda") for p in params)
        return torch.optim.Adam(params, lr=spec.lr, betas=spec.betas, eps=spec.eps, weight_decay=spec.weight_decay,
                                fused=fused)
    if spec.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=spec.lr, eps=spec.eps, weight_decay=spec.weight_decay)
    if spec.name == "sgd":
        return torch.optim.SGD(params, lr=spec.lr, weight_decay=spec.weight_decay)
    raise ValueError(f"unknown optimizer {spec.name!r}")


def compile_networks(model: GenerativeModel, players: dict) -> None:
    """torch.compile every network the players train, in place (state-dict keys and checkpoints unchanged)."""
    for player in players.values():
        for module in player.modules:
            parts = module.children() if isinstance(module, GenerativeModel) else [module]
            for net in parts:
                net.compile()


SMALL_DATA = 256  # numbers per example up to which the networks are too small for several CPU threads to help


@contextmanager
def cpu_threads(threads: int, shape: tuple[int, ...]):
    """PyTorch's CPU threads while training: `threads`, or with 0 one thread on small data (2-D points, the 8x8
    digits: at most SMALL_DATA numbers an example, where threads only wait on each other; on a busy 2-core
    machine a GAN on ring8 ran 4.9 steps/s with 2 threads and 34.8 with one, DCGAN's MLPs on the digits 10.2 and
    26.6) and PyTorch's default otherwise; restored afterwards."""
    wanted = threads or (1 if math.prod(shape) <= SMALL_DATA else 0)
    before = torch.get_num_threads()
    if wanted:
        torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def total_steps(cfg: TrainConfig, batches_per_epoch: int, data_phases: int) -> int:
    """Steps (generator/model updates) for the configured length; an epoch is one pass over the data."""
    if cfg.steps:
        return cfg.steps
    return max(1, math.ceil(cfg.epochs * batches_per_epoch / max(1, data_phases)))


IWAE_STAGES = [3**i for i in range(8)]  # epochs per stage in Burda et al. (3280 in all)


def lr_factor(schedule: str, step: int, total: int) -> float:
    """The learning-rate multiplier at `step` of `total`: a pure function of the step, so resume is exact.

    iwae: Burda et al.'s 8 stages, stage i (0-based) lasting 3^i / 3280 of training at 10^(-i/7); with 3280
    epochs this is the paper's schedule exactly, with fewer it is the same shape compressed.
    linear: 1 - step / total, a linear decay to zero over the run."""
    if schedule == "constant":
        return 1.0
    if schedule == "linear":
        return 1.0 - step / max(1, total)
    if schedule == "iwae":
        done, end = step / max(1, total), 0
        for i, n in enumerate(IWAE_STAGES):
            end += n
            if done < end / sum(IWAE_STAGES):
                return 10 ** (-i / 7)
        return 10 ** (-(len(IWAE_STAGES) - 1) / 7)
    raise ValueError(f"unknown lr_schedule {schedule!r}")


class Trainer:
    def __init__(self, model: GenerativeModel, data: TensorData, cfg: TrainConfig, run: RunDir,
                 reference: Optional[np.ndarray] = None, dist: Dist = SINGLE):
        """`dist`: this process's place among several training one run (see ``distributed.py``): each
        trains on its slice of every minibatch, gradients are averaged in every phase, and rank 0 alone
        writes the run directory."""
        self.model, self.data, self.cfg, self.run, self.dist = model, data, cfg, run, dist
        distributed.check_batch(dist, cfg.batch_size, getattr(model, "pack", 1))
        distributed.broadcast_parameters(dist, model)
        self.reference = reference  # data points drawn behind 2-D sample plots
        self.players = model.players()
        self.params = {name: p.parameters() for name, p in self.players.items()}
        seen: set[int] = set()
        for name, ps in self.params.items():
            ids = {id(p) for p in ps}
            if ids & seen:
                raise ValueError(f"player {name!r} shares parameters with another player")
            seen |= ids
        self.optimizers = {name: make_optimizer(self.params[name], p.optim) for name, p in self.players.items()}
        self.phases = model.phases()
        for phase in self.phases:
            unknown = [n for n in phase.players if n not in self.players]
            if unknown:
                raise ValueError(f"phase {phase.name!r} updates unknown players {unknown}")
        device_type = next(model.parameters()).device.type
        dtype = AUTOCAST[cfg.precision]
        self.autocast = (lambda: torch.autocast(device_type, dtype=dtype)) if dtype is not None else nullcontext
        # fp16: one gradient scaler per group of players a phase updates (per player, but for AAE's
        # reconstruction phase, which updates the encoder and the decoder by one loss)
        self.scalers = ({ph.players: torch.amp.GradScaler(device_type) for ph in self.phases}
                        if cfg.precision == "fp16" else {})
        if cfg.sync_bn:
            if not (dist.enabled and device_type == "cuda"):
                raise ConfigError("sync_bn=true shares BatchNorm statistics between several processes on CUDA "
                                  "GPUs; start them with --nproc N or torchrun on a GPU machine, or leave it out")
            for player in self.players.values():  # in place: the players keep their networks
                for module in player.modules:
                    for name, child in list(module.named_children()):
                        setattr(module, name, torch.nn.SyncBatchNorm.convert_sync_batchnorm(child))
        if cfg.compile:
            compile_networks(model, self.players)
        self.stream = BatchStream(data, cfg.batch_size, seed=cfg.seed + 1)
        self.total = total_steps(cfg, self.stream.batches_per_epoch, sum(p.data for p in self.phases))
        self.step = 0
        self.elapsed = 0.0  # seconds of training before this process
        self.acc: dict[str, float] = {}  # sums of logged terms since the last metrics line
        self.count: dict[str, int] = {}
        self._stop = False
        self.live = LiveEvaluation.for_config(cfg, model)  # evaluation during training (eval_every, best)
        self._exit_code = 130

    # ------------------------------------------------------------------------------------------------
    # state

    def state_dict(self) -> dict:
        state = {
            "step": self.step,
            "optimizers": {n: o.state_dict() for n, o in self.optimizers.items()},
            "stream": self.stream.state_dict(),
            "rng_cpu": torch.get_rng_state(),
            "elapsed": self.elapsed + (time.perf_counter() - self._t0 if hasattr(self, "_t0") else 0.0),
            "acc": dict(self.acc),
            "count": dict(self.count),
            "scalers": {"+".join(k): v.state_dict() for k, v in self.scalers.items()},
        }
        if self.dist.enabled:  # every rank's noise generator (a collective: every rank calls this)
            state["rng_ranks"] = distributed.gather_rng(self.dist)
        if torch.cuda.is_available():
            state["rng_cuda"] = torch.cuda.get_rng_state_all()
        return state

    def restore(self) -> bool:
        """Load the latest checkpoint of the run, if any, and drop the metrics rows logged after it (all of
        them when there is none: training starts again at step 0). Returns whether one was loaded."""
        ckpt = latest_checkpoint(self.run.checkpoints)
        if ckpt is not None:
            self._load(ckpt)
        if self.dist.main:
            if self.live:  # its best checkpoint is read (and checked) before a resume changes anything
                self.live.resumed(self.run, self.step)
            self.run.truncate_metrics(self.step)
        return ckpt is not None

    def _load(self, ckpt: Path) -> None:
        """Every field of the checkpoint is checked against this trainer's own state before any is used."""
        file = ckpt / STATE
        state = load_state(ckpt)
        opt_maps = tuple(f"optimizers.{n}.state" for n in self.optimizers)
        template = self.state_dict()
        template.pop("rng_ranks", None)
        check_state(state, template, file, maps=("acc", "count", *opt_maps),
                    optional=("rng_cuda", "scalers", "rng_ranks"), loose=lambda field: ".param_groups[" in field)
        ranks = state.get("rng_ranks")
        if ranks is not None and not (isinstance(ranks, list) and ranks and all(
                isinstance(r, torch.Tensor) and r.dtype == state["rng_cpu"].dtype and r.shape == state["rng_cpu"].shape
                for r in ranks)):
            raise bad(file, "rng_ranks", "should be a list of random-generator states, one per process")
        if state["step"] != step_of(ckpt):
            raise bad(file, "step", f"is {state['step']}, but the folder is {ckpt.name}")
        if set(state["acc"]) != set(state["count"]):
            raise bad(file, "acc", f"names {sorted(state['acc'])} but 'count' names {sorted(state['count'])}")
        for k in state["acc"]:
            v, c = state["acc"][k], state["count"][k]
            if not (isinstance(v, (int, float)) and not isinstance(v, bool) or isinstance(v, torch.Tensor)
                    and v.numel() == 1):
                raise bad(file, f"acc.{k}", "should be a number")
            if not isinstance(c, int) or isinstance(c, bool) or c < 1:
                raise bad(file, f"count.{k}", "should be a positive integer")
        for n, o in self.optimizers.items():
            params = [p for g in o.param_groups for p in g["params"]]
            check_optimizer_state(state["optimizers"][n]["state"], params, file, f"optimizers.{n}.state")
            for saved, fresh in zip(state["optimizers"][n]["param_groups"], o.state_dict()["param_groups"]):
                for k, v in fresh.items():  # a setting this PyTorch has and the checkpoint's lacks: the config's
                    saved.setdefault(k, v)
        load_weights(ckpt, self.model)
        try:
            for n, o in self.optimizers.items():
                o.load_state_dict(state["optimizers"][n])
            self.stream.load_state_dict(state["stream"])
            torch.set_rng_state(state["rng_cpu"])
            if self.dist.enabled or ranks is not None:
                warning = distributed.restore_rng(self.dist, ranks, self.cfg.seed, state["step"])
                if warning and self.dist.main:
                    print(f"warning: {warning}", file=sys.stderr)
            if "rng_cuda" in state and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(state["rng_cuda"])
            for key, scaler in self.scalers.items():
                if "+".join(key) in state.get("scalers", {}):
                    scaler.load_state_dict(state["scalers"]["+".join(key)])
        except (ValueError, KeyError, TypeError, RuntimeError) as e:
            raise bad(file, "", f"cannot be restored ({str(e).splitlines()[0][:120]})") from None
        self.step = state["step"]
        self.elapsed = float(state["elapsed"])
        self.acc, self.count = dict(state["acc"]), dict(state["count"])

    def save(self) -> Path:
        """A checkpoint of this step. The older ones beyond keep_checkpoints are deleted once a step after it
        has gone well (see `_non_finite`), so a good checkpoint is always left. With several processes every
        rank takes rank 0's BatchNorm statistics first, rank 0 writes, the others wait for it."""
        distributed.broadcast_buffers(self.dist, [self.model])
        state = self.state_dict()
        path = step_dir(self.run.checkpoints, self.step)
        if self.dist.main:
            try:
                path = save_checkpoint(self.run.checkpoints, self.step, self.model, state)
            except NonFiniteLossError as e:  # weights holding NaN or inf are never saved
                self.run.write_status("failed", self.step, str(e))
                raise
        distributed.barrier(self.dist)
        self._prune_due = True
        return path

    def _prune(self) -> None:
        if self.dist.main:
            prune_checkpoints(self.run.checkpoints, self.cfg.keep_checkpoints)
        self._prune_due = False

    # ------------------------------------------------------------------------------------------------
    # one step

    def train_step(self) -> None:
        """One step: the model's phases in order, each updating its players by the loss it names while the
        other players are frozen; a phase with data=True draws a fresh minibatch (and starts a new memo)."""
        factor = lr_factor(self.cfg.lr_schedule, self.step, self.total)
        for name, opt in self.optimizers.items():
            for g in opt.param_groups:
                g["lr"] = self.players[name].optim.lr * factor
        step = Step(self.step, self.total)
        batch = None
        for phase in self.phases:
            if phase.data or batch is None:
                batch = distributed.shard(self.dist, self.stream.next())
                step.new_minibatch()
            out = self.backward(phase, batch, step)
            self.update(phase, step)
            for k, v in out.items():
                self._accumulate(f"{phase.name}_loss" if k == "loss" else k, v)
        self.step += 1

    def backward(self, phase: Phase, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        """The phase's loss and its gradient with respect to the phase's players' parameters only (their
        .grad, scaled under fp16); the other players are frozen meanwhile. Returns the model's named values."""
        with frozen(self.players, phase.players) as ctx, step.phase(ctx):
            with self.autocast():
                out = self.model.loss(phase.name, batch, step)
            loss = out["loss"]
            if not self.dist.enabled and not torch.isfinite(loss):
                self._non_finite(phase.name, loss)
            for name in phase.players:
                self.optimizers[name].zero_grad(set_to_none=True)
            scaler = self.scalers.get(phase.players)
            (loss if scaler is None else scaler.scale(loss)).backward(inputs=ctx.params,
                                                                      retain_graph=step.retains_graph)
            if self.dist.enabled:  # the ranks' mean gradient and loss: a NaN on any rank stops them all
                out["loss"] = distributed.average_gradients(self.dist, ctx.params, loss)
                if not torch.isfinite(out["loss"]):
                    self._non_finite(phase.name, out["loss"])
        return out

    def update(self, phase: Phase, step: Step) -> None:
        """The optimizer step of each of the phase's players (skipped by fp16's scaler when a gradient
        overflowed), then the model's after_update."""
        scaler = self.scalers.get(phase.players)
        for name in phase.players:
            if scaler is None:
                self.optimizers[name].step()
            else:
                scaler.step(self.optimizers[name])
        if scaler is not None:
            scaler.update()
        self.model.after_update(phase.name, step)

    def _accumulate(self, key: str, value: torch.Tensor) -> None:
        v = value.detach()
        self.acc[key] = self.acc.get(key, 0.0) + v  # stays a tensor until logged: no sync per step
        self.count[key] = self.count.get(key, 0) + 1

    def _non_finite(self, phase: str, loss: torch.Tensor) -> None:
        """Stop on a NaN or infinite loss. The loss of step S+1 is computed from the weights after step S, so a
        checkpoint of step S holds weights that already diverge: it is deleted, and the one before it kept."""
        diverged = step_dir(self.run.checkpoints, self.step)
        dropped = ""
        if not self.dist.main:  # rank 0 says why and keeps the run directory right
            raise NonFiniteLossError(f"training stopped at step {self.step + 1}: the {phase} loss is {loss.item()}")
        if diverged.is_dir():
            shutil.rmtree(diverged)
            dropped = f"the checkpoint of step {self.step} (whose weights give this loss) is deleted and "
        last = latest_checkpoint(self.run.checkpoints)
        kept = f"the last good checkpoint ({last.name}) is kept" if last else "no good checkpoint remains"
        msg = (f"training stopped at step {self.step + 1}: the {phase} loss is {loss.item()}; {dropped}{kept}. "
               f"Try a lower learning rate (genlab resume {self.run.path} lr=...) or another seed.")
        self.run.write_status("failed", self.step, msg)
        raise NonFiniteLossError(msg)

    def log(self) -> dict:
        row = {"step": self.step, "epoch": round(self.stream.epoch, 4),
               "time": round(self.elapsed + time.perf_counter() - self._t0, 3)}
        for k in self.acc:
            row[k] = float(self.acc[k]) / self.count[k]
        self.acc, self.count = {}, {}
        if self.dist.main:
            self.run.append_metrics(row)
        return row

    # ------------------------------------------------------------------------------------------------
    # pictures

    @torch.no_grad()
    def fixed_samples(self, n: int) -> np.ndarray:
        """n samples from fixed noise (the same every call), in data space."""
        gen = torch.Generator(device=self.model.device)
        gen.manual_seed(GRID_SEED)
        was_training = self.model.training
        self.model.eval()
        y = None
        if self.model.conditional:  # classes in turn: one class per grid column
            y = torch.arange(n, device=self.model.device) % self.model.info.num_classes
        x = self.model.sample(n, generator=gen, y=y)
        self.model.train(was_training)
        return self.model.info.to_data_space(x).float().cpu().numpy()

    def save_samples(self, name: str) -> Optional[Path]:
        """The fixed-noise sample grid, drawn by rank 0 (with rank 0's BatchNorm statistics)."""
        path = self.run.samples / f"{name}.png"
        if not self.dist.main:
            return None
        if self.model.info.kind == "points":
            x = self.fixed_samples(2500)
            return save_points(x, path, self.reference, title=f"{name} (step {self.step})")
        if self.model.conditional:
            c = self.model.info.num_classes
            return save_image_grid(self.fixed_samples(c * max(1, round(self.cfg.grid_size / c))), path, nrow=c)
        return save_image_grid(self.fixed_samples(self.cfg.grid_size), path)

    # ------------------------------------------------------------------------------------------------
    # the loop

    def fit(self, progress: Optional[bool] = None, pictures: Optional[Callable[[], None]] = None) -> dict:
        """Train to the configured length, then `finish` (`pictures`: more pictures to draw at the end).

        Every way out leaves status.json telling the truth: finished, interrupted (Ctrl-C or SIGTERM: a
        checkpoint is saved first) or failed; only a process killed outright leaves `running`, which readers
        report as crashed once the lock is free."""
        cfg, run = self.cfg, self.run
        bpe = self.stream.batches_per_epoch
        epochs_done = self.stream.drawn // bpe
        self.model.train()
        self._t0 = time.perf_counter()
        self._prune_due = False
        main = self.dist.main
        if main:
            run.write_status("running", self.step)
        bar = Progress(self.total, run.path.name, initial=self.step, show=progress if main else False)
        last_row: dict = {}
        try:
            with self._sigint(), cpu_threads(self.cfg.threads, self.data.info.shape):
                while self.step < self.total:
                    self.train_step()
                    if self._prune_due:  # this step went well from the last checkpoint: older ones may go
                        self._prune()
                    if self.step % cfg.log_every == 0 or self.step == self.total:
                        last_row = self.log()
                        bar.note(**{k: v for k, v in last_row.items() if k not in ("step", "time", "epoch")})
                    bar.note(epoch=round(self.stream.drawn / bpe, 2))
                    bar.update(1)
                    epoch = self.stream.drawn // bpe
                    if epoch > epochs_done:
                        epochs_done = epoch
                        if cfg.sample_every and epoch % cfg.sample_every == 0:
                            self.save_samples(f"epoch-{epoch:04d}")
                        if cfg.ckpt_every == 0:
                            self.save()
                        if main:
                            refresh_run_report(run.path)
                    if cfg.ckpt_every and self.step % cfg.ckpt_every == 0:
                        self.save()
                    if self.live:
                        self.live.after_step(self)
                    if distributed.any_rank(self.dist, bool(self._stop)):  # every rank stops at the same step
                        self._stop = self._stop or "an interrupt of another process"
                        self.save()
                        if main:
                            run.write_status("interrupted", self.step, f"stopped by {self._stop}; resume with "
                                                                        f"genlab resume {run.path}")
                        raise Interrupted(f"interrupted by {self._stop} at step {self.step}; checkpoint saved. "
                                          f"Continue with: genlab resume {run.path}", exit_code=self._exit_code)
                bar.close()
                self.finish(pictures)
        except BaseException as e:
            if not main:
                raise
            if not isinstance(e, (Interrupted, NonFiniteLossError)):  # those wrote their status already
                self._last_words("interrupted" if isinstance(e, KeyboardInterrupt) else "failed",
                                 "stopped at once by a second interrupt; resume continues from the last checkpoint"
                                 if isinstance(e, KeyboardInterrupt) else f"{type(e).__name__}: {e}")
            refresh_run_report(run.path, final=True)  # the page says why the run stopped
            raise
        finally:
            bar.close()
        return last_row

    def finish(self, pictures: Optional[Callable[[], None]] = None) -> None:
        """The end of a run: its final checkpoint and pictures, then status `finished`. Resume calls it for a
        run that reached its last step but stopped before it was done."""
        self.save()
        self._prune()
        if not self.dist.main:
            return
        self.save_samples("final")
        samples_over_epochs(self.run.samples, self.run.samples / "over-epochs.png")
        plot_curves(self.run.read_metrics(), self.run.samples / "curves.png", title=self.run.path.name)
        if pictures is not None:
            pictures()
        self.run.write_status("finished", self.step)
        refresh_run_report(self.run.path, final=True)

    def _last_words(self, state: str, message: str) -> None:
        """Status for a way out that did not write one; a disk too full for it leaves `running`, which readers
        report as crashed."""
        try:
            self.run.write_status(state, self.step, message[:500])
        except OSError:
            pass

    @contextmanager
    def _sigint(self):
        """First Ctrl-C or SIGTERM (what job schedulers send): finish the step, save a checkpoint, stop.
        A second one: stop at once."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self._stop = ""
        self._exit_code = 130

        def handler(signum, frame):
            if self._stop:
                raise KeyboardInterrupt
            self._stop = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
            self._exit_code = 128 + signum

        previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, h in previous.items():
                signal.signal(s, h)

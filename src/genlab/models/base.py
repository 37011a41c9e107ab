"""The contract between a model and the one trainer.

A model is an ``nn.Module`` that says *what* it trains and *how one step goes*; the trainer owns the
optimizers, the loop, devices, logging, checkpoints and the NaN guard.

- ``players()``: named groups of modules, each with its own optimizer (a VAE has one player, a GAN two,
  alpha-GAN three or four). Players never share parameters.
- ``phases()``: the sequence of updates that makes one training step, e.g. ``[disc] * k + [gen]``.
  Each phase names a player; ``data=False`` re-uses the previous phase's batch instead of drawing a new one.
- ``loss(player, batch)``: a dict of named scalars; ``"loss"`` is minimized with respect to that player's
  parameters (the trainer freezes the other players during the phase), the rest are logged.
- ``after_update(player)``: optional, for constraints such as weight clipping.
- ``sample(n, generator, y)``: n draws from the model in model space (the trainer maps them to data space).
  Conditional models (``conditional = True``) take class labels ``y`` (n,), and draw them uniformly with
  ``generator`` when ``y`` is None; other models ignore ``y``.
- Translation models (``domains = 2``, e.g. CycleGAN) train on two-domain datasets (``data/pairs.py``):
  each batch carries the second, unpaired domain in ``batch.x_b``.
- ``progress``: before every step the trainer sets ``model.progress = (step, total_steps)``, for schedules
  such as KL annealing (a pure function of the step, so resume stays exact).

Because the trainer calls ``backward`` and ``step``, gradient averaging across processes, mixed
precision and gradient accumulation can be added there without touching a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal, Optional

import torch
from torch import nn

from ..data.base import Batch, DataInfo


@dataclass(frozen=True)
class OptimSpec:
    name: Literal["adam", "rmsprop", "sgd"] = "adam"
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0


@dataclass
class Player:
    modules: list[nn.Module]
    optim: OptimSpec

    def parameters(self) -> list[nn.Parameter]:
        return [p for m in self.modules for p in m.parameters()]


@dataclass(frozen=True)
class Phase:
    player: str
    data: bool = True  # draw a fresh batch for this phase


class GenerativeModel(nn.Module):
    """Base class: subclasses set ``Config`` and ``description`` and implement the methods below."""

    Config: ClassVar[type]
    description: ClassVar[str] = ""
    preferred_range: ClassVar[Literal["01", "pm1"]] = "01"  # value range of images the model wants
    # config values that suit a kind of data better than the defaults ("points" or "image"), as plain data
    presets: ClassVar[dict[str, dict]] = {}
    # named protocols a user picks with --preset NAME: {"model": {...}, "train": {...}, "data": {...}}
    named_presets: ClassVar[dict[str, dict]] = {}
    conditional: ClassVar[bool] = False  # takes class labels in loss (batch.y) and in sample (y)
    domains: ClassVar[int] = 1  # 2: a translation model, trained on two-domain data (batch.x_b)

    def __init__(self, cfg, info: DataInfo):
        super().__init__()
        self.cfg = cfg
        self.info = info
        self.progress: tuple[int, int] = (0, 1)  # (step, total steps), set by the trainer
        if self.conditional and info.num_classes < 2:
            from ..errors import ConfigError

            raise ConfigError(f"{type(self).__name__} is conditioned on class labels, but dataset "
                              f"{info.name!r} has none; use a labelled dataset")
        if self.domains != info.domains:
            from ..errors import ConfigError

            raise ConfigError(f"{type(self).__name__} translates between two domains, but dataset {info.name!r} "
                              f"has one; use a two-domain dataset such as digits-inverted (see genlab datasets)"
                              if self.domains == 2 else
                              f"{type(self).__name__} models one domain; dataset {info.name!r} holds two")

    def players(self) -> dict[str, Player]:
        raise NotImplementedError

    def phases(self) -> list[Phase]:
        return [Phase(name) for name in self.players()]

    def loss(self, player: str, batch: Batch) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def after_update(self, player: str) -> None:
        """Called after each optimizer step of `player` (e.g. weight clipping)."""

    @torch.no_grad()
    def sample(self, n: int, generator: Optional[torch.Generator] = None,
               y: Optional[torch.Tensor] = None) -> torch.Tensor:
        raise NotImplementedError

    def labels(self, n: int, generator: Optional[torch.Generator] = None,
               y: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Class labels for conditional sampling: `y` on the model's device, or n uniform draws."""
        if y is not None:
            return y.to(self.device, torch.long)
        return torch.randint(self.info.num_classes, (n,), device=self.device, generator=generator)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def randn(self, *shape: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Standard normal noise on the model's device, from `generator` or the global generator."""
        return torch.randn(*shape, device=self.device, generator=generator)

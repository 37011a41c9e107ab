"""The contract between a model and the one trainer.

A model is an ``nn.Module`` that says *what* it trains and *how one step goes*, as its paper's algorithm box
does; the trainer owns the optimizers, the loop, devices, logging, checkpoints and the NaN guard.

- ``players()``: named groups of modules, each with its own optimizer (a VAE has one player, a GAN two,
  alpha-GAN four). Players never share parameters.
- ``phases()``: the updates that make one training step, in order, e.g. ``[Phase("disc")] * k +
  [Phase("gen", data=False)]``. A phase has a name (the loss it minimizes; logged as ``NAME_loss``), the
  players it updates (default: the player of the same name; AAE's reconstruction phase updates the encoder
  and the decoder), and whether it draws a fresh minibatch (``data=False`` re-uses the previous phase's).
- ``loss(phase, batch, step)``: a dict of named scalars; ``"loss"`` is minimized with respect to the
  phase's players' parameters, the other values are logged. ``step`` (a ``Step``) carries the step's index
  and the run's total (for schedules such as KL annealing: a pure function of the step, so resume stays
  exact) and ``step.shared(key, fn)``: a memo for what the phases of one minibatch share (z, G(z), E(x) ...),
  computed once, as the paper's algorithm computes it once.
- ``after_update(phase, step)``: optional, called after each phase's optimizer step (e.g. weight clipping).
- ``sample(n, generator, y)``: n draws from the model in model space (the trainer maps them to data space).
  Conditional models (``conditional = True``) take class labels ``y`` (n,), and draw them uniformly with
  ``generator`` when ``y`` is None; other models ignore ``y``.
- Translation models (``domains = 2``, e.g. CycleGAN) train on two-domain datasets (``data/pairs.py``):
  each batch carries the second, unpaired domain in ``batch.x_b``.

During a phase the other players are ``frozen``: they take no gradient (the trainer differentiates the loss
with respect to the phase's players only), and their buffers (BatchNorm running statistics) are left exactly
as they were, so a network's statistics move only in its own phases and in the step's shared forward passes
(``step.shared``), never because another player trained. Quantities in the memo keep their autograd graph
for later phases of the same minibatch: a later phase may differentiate through a network that has not been
updated since (alpha-GAN's generator through x^ = G(E(x)) after the encoder's update), never through one that
has (PyTorch refuses: a parameter was modified in place).

Because the trainer calls ``backward`` and ``step``, gradient averaging across processes, mixed precision
and gradient accumulation live there without touching a model.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterable, Literal, Optional, Protocol, TypeVar, runtime_checkable

import torch
from torch import nn

from ..config import check
from ..data.base import Batch, DataInfo
from ..errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class OptimSpec:
    name: Literal["adam", "rmsprop", "sgd"] = "adam"
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0


@dataclass
class AdversarialOptim:
    """The optimizer fields of every adversarial model, declared once: a step size for the networks that
    generate (and encode), one for the discriminators, and Adam's betas."""

    lr_g: float = 2e-4  # step size of the generator (and encoder)
    lr_d: float = 2e-4  # step size of the discriminators (critics)
    beta1: float = 0.5  # Adam's first-moment decay (unused by rmsprop)
    beta2: float = 0.999  # Adam's second-moment decay (unused by rmsprop)

    def __post_init__(self):
        check(self.lr_g > 0, "lr_g", "must be > 0")
        check(self.lr_d > 0, "lr_d", "must be > 0")
        check(0 <= self.beta1 < 1, "beta1", "must be in [0, 1)")
        check(0 <= self.beta2 < 1, "beta2", "must be in [0, 1)")

    def optimizer(self, lr: float, name: Literal["adam", "rmsprop", "sgd"] = "adam") -> "OptimSpec":
        return OptimSpec(name, lr, (self.beta1, self.beta2))


@dataclass
class Player:
    modules: list[nn.Module]
    optim: OptimSpec

    def parameters(self) -> list[nn.Parameter]:
        return [p for m in self.modules for p in m.parameters()]

    def buffers(self) -> list[torch.Tensor]:
        return [b for m in self.modules for b in m.buffers()]


@dataclass(frozen=True)
class Phase:
    """One update of a training step: ``name`` is the loss it minimizes (logged as ``NAME_loss``),
    ``players`` whose parameters it updates (default: the player called ``name``), ``data`` whether it draws
    a fresh minibatch (False: the previous phase's)."""

    name: str
    players: tuple[str, ...] = ()
    data: bool = True

    def __post_init__(self):
        if not self.players:
            object.__setattr__(self, "players", (self.name,))
        elif isinstance(self.players, str):
            object.__setattr__(self, "players", (self.players,))


class frozen:
    """The phase context: inside it only the `active` players train.

    The other players' buffers are restored on exit, so that their BatchNorm running statistics stay exactly
    as they were; the trainer differentiates the loss with respect to ``self.params`` (the active players'
    parameters) only, so the others take no gradient. Forward passes made through ``Step.shared`` belong to
    the minibatch, not to the phase: their updates of any network's statistics are kept (``shared_scope``).
    """

    def __init__(self, players: dict[str, Player], active: Iterable[str]):
        active = tuple(active)
        unknown = [a for a in active if a not in players]
        if unknown:
            raise ValueError(f"phase updates unknown players {unknown}; the model's players: {list(players)}")
        self.params = [p for name in active for p in players[name].parameters()]
        mine = {id(b) for name in active for b in players[name].buffers()}
        seen: set[int] = set()
        self._others: list[torch.Tensor] = []
        for name, player in players.items():
            for b in player.buffers():
                if id(b) not in mine and id(b) not in seen:
                    seen.add(id(b))
                    self._others.append(b)
        self._saved: list[torch.Tensor] = []

    def __enter__(self) -> "frozen":
        self._saved = [b.detach().clone() for b in self._others]
        return self

    def __exit__(self, *exc) -> None:
        self._restore()

    @torch.no_grad()
    def _restore(self) -> None:
        # through .data: BatchNorm's autograd node keeps its running statistics as saved tensors (unused by a
        # training-mode backward), and a tracked in-place copy would fail the version check of a later phase
        # that differentiates through a shared forward pass
        for b, v in zip(self._others, self._saved):
            b.data.copy_(v)

    @contextmanager
    def shared_scope(self):
        """A forward pass of the minibatch's shared quantities: frozen players' statistics start from their
        saved values and keep what the pass does to them."""
        self._restore()
        try:
            yield
        finally:
            self._saved = [b.detach().clone() for b in self._others]


class Step:
    """What a phase knows of its step: ``index`` (0-based), the run's ``total`` steps, and a memo shared by
    the phases of one minibatch (cleared by the trainer whenever a phase draws a fresh one)."""

    def __init__(self, index: int = 0, total: int = 1):
        self.index, self.total = index, total
        self._memo: dict[str, Any] = {}
        self._phase: Optional[frozen] = None

    @property
    def fraction(self) -> float:
        """index / total: how far training has come, in [0, 1)."""
        return self.index / max(1, self.total)

    def shared(self, key: str, fn: Callable[[], T]) -> T:
        """`fn()` computed once per minibatch and re-used by the later phases of the step."""
        if key not in self._memo:
            with self._phase.shared_scope() if self._phase is not None else nullcontext():
                self._memo[key] = fn()
        return self._memo[key]

    @property
    def retains_graph(self) -> bool:
        """Whether later phases may differentiate through what the memo holds (then backward keeps the graph)."""
        return bool(self._memo)

    def new_minibatch(self) -> None:
        self._memo.clear()

    @contextmanager
    def phase(self, ctx: frozen):
        """The trainer runs each phase's loss inside this, so that shared passes know the phase's freeze."""
        self._phase = ctx
        try:
            yield
        finally:
            self._phase = None


class GenerativeModel(nn.Module):
    """Base class: subclasses set ``Config`` and ``description`` and implement the methods below."""

    Config: ClassVar[type]
    description: ClassVar[str] = ""
    preferred_range: ClassVar[Literal["01", "pm1"]] = "01"  # value range of images the model wants
    # the defaults for a kind of data, as plain data: {kind or profile: {"model": {...}, "train": {...}}} with
    # kinds "points" and "image" and the finer profiles of ``data.base.PROFILES`` (image-28, image-32 ...); a
    # profile's entry is applied over its kind's. Each is what a search on that data found best (the README says
    # which search); `genlab reproduce defaults` measures them all.
    presets: ClassVar[dict[str, dict]] = {}
    # named protocols a user picks with --preset NAME: {"model": {...}, "train": {...}, "data": {...}}
    named_presets: ClassVar[dict[str, dict]] = {}
    conditional: ClassVar[bool] = False  # takes class labels in loss (batch.y) and in sample (y)
    domains: ClassVar[int] = 1  # 2: a translation model, trained on two-domain data (batch.x_b)

    def __init__(self, cfg, info: DataInfo):
        super().__init__()
        self.cfg = cfg
        self.info = info
        self.resolved: dict[str, Any] = {}  # what the config's "auto" values became for this data (config.json)
        if self.conditional and info.num_classes < 2:
            raise ConfigError(f"{type(self).__name__} is conditioned on class labels, but dataset "
                              f"{info.name!r} has none; use a labelled dataset")
        if self.domains != info.domains:
            raise ConfigError(f"{type(self).__name__} translates between two domains, but dataset {info.name!r} "
                              f"has one; use a two-domain dataset such as digits-inverted (see genlab datasets)"
                              if self.domains == 2 else
                              f"{type(self).__name__} models one domain; dataset {info.name!r} holds two")

    @classmethod
    def defaults_for(cls, kind: str, profile: str = "") -> dict[str, dict]:
        """This model's settings on data of `kind` and `profile`: {"model": {...}, "train": {...}}, the profile's
        entry of ``presets`` over the kind's."""
        out: dict[str, dict] = {"model": {}, "train": {}}
        for key in dict.fromkeys([kind, profile or kind]):
            for section, values in cls.presets.get(key, {}).items():
                out[section].update(values)
        return out

    def players(self) -> dict[str, Player]:
        raise NotImplementedError

    def phases(self) -> list[Phase]:
        return [Phase(name) for name in self.players()]

    def loss(self, phase: str, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def after_update(self, phase: str, step: Step) -> None:
        """Called after each phase's optimizer step (e.g. weight clipping)."""

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


# ----------------------------------------------------------------------------------------------------
# capabilities: what a trained model offers its readers (metrics, pictures) beyond sampling. A model has a
# capability when it defines the methods; test with isinstance(model, Encodes) or issubclass(cls, Encodes).


@runtime_checkable
class Encodes(Protocol):
    """An encoder and a decoder (the VAE family, vaegan, aae, bigan, alphagan): reconstructions,
    interpolations, latent pictures and the reconstruction metric read these."""

    def encode(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar) of q(z | x): (B, Z) each; a deterministic encoder's code is mu (logvar unused)."""

    def decode_mean(self, z: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The decoder's mean at codes z (B, Z), in model space."""

    def posterior_mean(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> dict[str, torch.Tensor]:
        """E[z | x] per stochastic layer: {"z1": (B, Z1), ...}."""

    def reconstruct(self, x: torch.Tensor, y: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The decoder's mean at the code of x, in model space (B, ...)."""


@runtime_checkable
class HasLikelihood(Protocol):
    """Log importance weights log p(x, z_k) - log q(z_k | x), z_k ~ q(z | x), of shape (B, K), and their two
    terms: the ELBO (with its terms), the IWAE bound and the NLL estimate all read them (the VAE family)."""

    def log_weights(self, x: torch.Tensor, k: int, y: Optional[torch.Tensor] = None,
                    generator: Optional[torch.Generator] = None) -> torch.Tensor: ...

    def terms(self, x: torch.Tensor, k: int, y: Optional[torch.Tensor] = None, analytic_kl: bool = False,
              generator: Optional[torch.Generator] = None):
        """The two terms of those weights, (B, K) each (``models.vae.Terms``): log p(x | z_k) and
        log q(z_k | x) - log p(z_k); the ELBO's reconstruction and KL terms are their means."""


@runtime_checkable
class Translates(Protocol):
    """A translation between two domains (CycleGAN): G maps a to b, F maps b to a."""

    def translation_rows(self, a: torch.Tensor, b: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
        """Labelled rows for a picture: ("a", a), ("G(a)", G(a)), ... then b, F(b), G(F(b))."""

    def cycle(self, a: torch.Tensor, b: torch.Tensor) -> dict[str, torch.Tensor]:
        """Cycle errors per example (B,): {"a": |F(G(a)) - a|, "b": |G(F(b)) - b|}."""


@runtime_checkable
class InfersCodes(Protocol):
    """Latent codes read back from data and varied one at a time (InfoGAN's categorical and continuous codes)."""

    def infer_codes(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Q's reading of inputs x: {"categorical": probabilities (B, K), "continuous": means (B, C)}."""

    def traversals(self, rows: int, steps: int, generator: Optional[torch.Generator] = None
                   ) -> list[tuple[str, torch.Tensor]]:
        """One (title, images (rows, steps, ...)) panel per code, that code varied along each row."""

"""CycleGAN (Zhu, Park, Isola & Efros 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks", equations 1-3 with the least-squares GAN loss of section 4).

Two generators G: A -> B and F: B -> A, and two discriminators D_B (on B) and D_A (on A), trained on
unpaired examples a ~ p_A, b ~ p_B (a two-domain dataset, ``data/pairs.py``: a batch holds a in ``x`` and
b in ``x_b``). The full objective (equation 3):

    L(G, F, D_A, D_B) = L_GAN(G, D_B) + L_GAN(F, D_A) + lambda L_cyc(G, F)
    L_cyc = E_a ||F(G(a)) - a||_1 + E_b ||G(F(b)) - b||_1                              (equation 2)

with the least-squares GAN loss (section 4: more stable than the log loss):

    G, F:        descend  E_a (D_B(G(a)) - 1)^2 + E_b (D_A(F(b)) - 1)^2 + lambda L_cyc
                          [+ identity_weight lambda (E_b ||G(b) - b||_1 + E_a ||F(a) - a||_1), section 5.2]
    D_A, D_B:    descend  1/2 [E_b (D_B(b) - 1)^2 + E_a D_B(G(a))^2] + 1/2 [E_a (D_A(a) - 1)^2 + E_b D_A(F(b))^2]

G and F are one player with one optimizer, D_A and D_B another, updated in that order on each minibatch as
in the authors' code: the translations G(a), F(b) and the discriminators' scores of them are computed once
(``step.shared``) and serve both updates (D's update treats the translations as data); the history of 50 generated images the paper feeds to D is left out (it would make
the discriminators' input depend on past steps). L1 errors are averaged over pixels (paper: lambda = 10).

Networks: for images of any size (``net=auto``), fully convolutional generators (a 3x3 convolution to
``width`` channels, ``blocks`` residual blocks with instance norm, a 3x3 convolution back: a small version
of the paper's ResNet generator, which never leaves the image's resolution, so 8x8 digits need no MLP) and
DCGAN discriminators without batch norm; for points, MLPs. The convolutions' locality is what keeps a
translation's content: on digits-inverted they learn the inversion of each digit, where MLP generators
satisfy the cycle loss with translations that change the digit.

``sample(n)``: CycleGAN has no prior, so its samples are translations G(a) of domain-A images. A model
sees no data outside training, so it keeps the first ``bank`` domain-A training images it is given (a
buffer saved with the weights) and translates n of them drawn with the given generator (an untrained model
translates a blank image). Translations of held-out images are in ``genlab pictures`` (translations.png,
from the test split); the ``cycle`` metric measures the cycle error on the test split.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Optional

import torch
from torch import nn

from ..config import check
from ..data.base import Batch, DataInfo
from ..losses import l1_error, lsgan_loss
from ..nets import MLP, conv_translator, make_encoder, output_activation, resolve_net
from ..registry import MODELS
from .base import AdversarialOptim, GenerativeModel, Phase, Player, Step


@dataclass
class CycleGANConfig(AdversarialOptim):
    net: Literal["auto", "mlp", "conv"] = "auto"  # auto: conv for images (any size), mlp for points
    hidden: tuple[int, ...] = (256, 256)  # MLP hidden sizes of G, F, D_A and D_B
    width: int = 32  # conv channels of the generators' residual blocks and of D's first layer
    blocks: int = 3  # residual blocks in each conv generator (the paper: 6 at 128 px, 9 at 256 px)
    cycle_weight: float = 10.0  # lambda
    identity_weight: float = 0.0  # the identity loss's weight, as a fraction of lambda (paper: 0 or 0.5)
    bank: int = 256  # domain-A training images kept for sample()

    def __post_init__(self):
        super().__post_init__()
        check(all(h >= 1 for h in self.hidden), "hidden", "sizes must be >= 1")
        check(self.width >= 1, "width", "must be >= 1")
        check(self.blocks >= 0, "blocks", "must be >= 0")
        check(self.cycle_weight >= 0, "cycle_weight", "must be >= 0")
        check(self.identity_weight >= 0, "identity_weight", "must be >= 0")
        check(self.bank >= 1, "bank", "must be >= 1")


@dataclass
class Translations:
    """What both updates of one minibatch share: the translations and the discriminators' scores of them."""

    fake_b: torch.Tensor  # G(a)
    fake_a: torch.Tensor  # F(b)
    score_b: torch.Tensor  # D_B(G(a))
    score_a: torch.Tensor  # D_A(F(b))


@MODELS.register("cyclegan")
class CycleGAN(GenerativeModel):
    Config = CycleGANConfig
    description = ("CycleGAN (Zhu et al. 2017): unpaired translation A <-> B with a cycle loss and LSGAN; needs a "
                   "two-domain dataset (digits-inverted ...)")
    preferred_range = "pm1"
    domains = 2

    def __init__(self, cfg: CycleGANConfig, info: DataInfo):
        super().__init__(cfg, info)
        net = resolve_net(cfg.net, info.shape, conv_from=1)
        self.resolved = {"net": net}

        def translator() -> nn.Module:
            if net == "conv":
                return conv_translator(info.shape[0], cfg.width, cfg.blocks, output_activation(info))
            return MLP(info.shape, (*cfg.hidden, math.prod(info.shape)), act="relu", out_act=output_activation(info),
                       out_shape=info.shape)

        def critic() -> nn.Module:
            return make_encoder(net, info.shape, 1, cfg.hidden, cfg.width, act="lrelu", batchnorm=False)

        self.G, self.F = translator(), translator()  # A -> B, B -> A
        self.D_A, self.D_B = critic(), critic()
        self.register_buffer("bank_a", torch.zeros(cfg.bank, *info.shape))
        self.register_buffer("bank_filled", torch.zeros((), dtype=torch.long))

    def players(self) -> dict[str, Player]:
        c = self.cfg
        return {"gen": Player([self.G, self.F], c.optimizer(c.lr_g)),
                "disc": Player([self.D_A, self.D_B], c.optimizer(c.lr_d))}

    def phases(self) -> list[Phase]:
        return [Phase("gen"), Phase("disc", data=False)]

    def translate(self, a: torch.Tensor, b: torch.Tensor) -> Translations:
        fake_b, fake_a = self.G(a), self.F(b)
        return Translations(fake_b, fake_a, self.D_B(fake_b), self.D_A(fake_a))

    def loss(self, phase: str, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        a, b = batch.x, batch.x_b
        t = step.shared("translations", lambda: self.translate(a, b))
        if phase == "disc":
            d_b = 0.5 * (lsgan_loss(self.D_B(b), 1.0) + lsgan_loss(t.score_b, 0.0))
            d_a = 0.5 * (lsgan_loss(self.D_A(a), 1.0) + lsgan_loss(t.score_a, 0.0))
            return {"loss": d_a + d_b, "d_a": d_a.detach(), "d_b": d_b.detach()}
        self.remember(a)
        c = self.cfg
        gan = lsgan_loss(t.score_b, 1.0) + lsgan_loss(t.score_a, 1.0)
        cycle = l1_error(self.F(t.fake_b), a).mean() + l1_error(self.G(t.fake_a), b).mean()
        loss = gan + c.cycle_weight * cycle
        out = {"gan": gan.detach(), "cycle": cycle.detach()}
        if c.identity_weight > 0:
            identity = l1_error(self.G(b), b).mean() + l1_error(self.F(a), a).mean()
            loss = loss + c.identity_weight * c.cycle_weight * identity
            out["identity"] = identity.detach()
        return {"loss": loss, **out}

    @torch.no_grad()
    def remember(self, a: torch.Tensor) -> None:
        """Keep the first `bank` domain-A images seen in training, for sample()."""
        k = int(self.bank_filled)
        m = min(len(self.bank_a) - k, len(a))
        if m > 0:
            self.bank_a[k:k + m] = a[:m].detach()
            self.bank_filled += m

    # ------------------------------------------------------------------------------------------------
    # what samples, pictures and metrics read

    @torch.no_grad()
    def sample(self, n: int, generator: Optional[torch.Generator] = None,
               y: Optional[torch.Tensor] = None) -> torch.Tensor:
        """G(a) for n domain-A images drawn (with replacement) from the filled part of the bank."""
        filled = max(1, int(self.bank_filled))
        idx = torch.randint(filled, (n,), device=self.device, generator=generator)
        return self.G(self.bank_a[idx])

    @torch.no_grad()
    def cycle(self, a: torch.Tensor, b: torch.Tensor) -> dict[str, torch.Tensor]:
        """Cycle errors per example (B,): {"a": |F(G(a)) - a|, "b": |G(F(b)) - b|}, averaged over dimensions."""
        return {"a": l1_error(self.F(self.G(a)), a), "b": l1_error(self.G(self.F(b)), b)}

    @torch.no_grad()
    def translation_rows(self, a: torch.Tensor, b: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
        """Labelled rows for a picture: a, G(a), F(G(a)), then b, F(b), G(F(b))."""
        fake_b, fake_a = self.G(a), self.F(b)
        return [("a", a), ("G(a)", fake_b), ("F(G(a))", self.F(fake_b)), ("b", b), ("F(b)", fake_a),
                ("G(F(b))", self.G(fake_a))]

"""InfoGAN (Chen, Duan, Houthooft, Schulman, Sutskever & Abbeel 2016, "InfoGAN: Interpretable Representation
Learning by Information Maximizing Generative Adversarial Nets"), equations 5 and 6.

G's input is noise z ~ N(0, I) and a latent code c: one categorical code of K categories (uniform, fed in
one-hot) and M continuous codes, each ~ U(-1, 1). The GAN's value function is regularized by the mutual
information between the code and the sample, through its variational lower bound:

    min_{G,Q} max_D  V(D, G) - lambda L_I(G, Q)
    L_I(G, Q) = E_{c ~ p(c), x ~ G(z, c)} [log Q(c | x)] + H(c)  <=  I(c; G(z, c))            (eq. 5)

Q shares D's body (every layer of D but the last) and adds a head: K logits of Q(c_cat | x) and the M means
(with ``cont_std=learned`` also the log-std) of a factored Gaussian Q(c_cont | x). For each minibatch:

    z ~ N(0, I), c ~ p(c), x_g = G(z, c)                                   once (``step.shared``)
    D and Q:  descend  -log D(x) - log(1 - D(x_g)) - lambda L_I           (x_g held fixed)
    G:        descend  -log D(x_g) - lambda L_I                           (non-saturating; ``loss=minimax``)

as the authors' code does (D's and G's losses both carry the information term). With one categorical code,
L_I = log K - CE(Q(c | x_g), c): logged as ``mi_cat``, it approaches its maximum log K when Q recovers c from
G(z, c). The continuous codes' term (``mi_cont``: E log Q(c_cont | x_g) + M log 2, the uniform prior's
entropy) is weighted by ``cont_weight`` inside lambda's term. Defaults follow the paper's MNIST setting:
z of 62 dimensions, K = 10, M = 2, lambda = 1; ``genlab pictures`` draws ``traversals.png`` (one code varied
along each row, z and the other codes fixed; continuous codes from -2 to 2, past the training range, as the
paper's figures do), and the ``codes`` metric scores the categorical code's clusters against the classes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..config import check
from ..data.base import Batch, DataInfo
from ..errors import ConfigError
from ..losses import gan_discriminator_loss, gan_generator_loss, gaussian_log_prob
from ..nets import MLP, make_decoder, make_encoder, output_activation
from ..registry import MODELS
from .base import Step
from .gan import GAN, AdversarialConfig
from .image_presets import GAN_IMAGES

TRAVERSAL_RANGE = 2.0  # continuous codes are drawn from U(-1, 1) and traversed from -2 to 2


@dataclass
class InfoGANConfig(AdversarialConfig):
    noise_dim: int = 62  # z, the incompressible noise (the paper's MNIST setting)
    categories: int = 10  # K: categories of the categorical code (0: none)
    continuous: int = 2  # M: continuous codes, each ~ U(-1, 1)
    info_weight: float = 1.0  # lambda, the weight of the information term (the paper: 1 for discrete codes)
    cont_weight: float = 1.0  # the continuous codes' share of that term, relative to the categorical code's
    cont_std: Literal["fixed", "learned"] = "fixed"  # Q(c_cont | x): unit variance, or a learned std per code
    hidden_dim: int = 1024  # D's last hidden layer, the top of the body Q shares
    q_hidden: tuple[int, ...] = (128,)  # Q's head on that body
    loss: Literal["ns", "minimax"] = "ns"  # G's adversarial loss

    def __post_init__(self):
        super().__post_init__()
        check(self.categories == 0 or self.categories >= 2, "categories", "must be 0 (no categorical code) or >= 2")
        check(self.continuous >= 0, "continuous", "must be >= 0")
        check(self.categories + self.continuous >= 1, "categories", "InfoGAN needs a code: set categories or continuous")
        check(self.info_weight >= 0, "info_weight", "must be >= 0")
        check(self.cont_weight >= 0, "cont_weight", "must be >= 0")
        check(self.hidden_dim >= 1, "hidden_dim", "must be >= 1")
        check(all(h >= 1 for h in self.q_hidden), "q_hidden", "sizes must be >= 1")
        check(self.pack == 1, "pack", "InfoGAN takes pack=1: Q reads the code of one sample")


class Codes(NamedTuple):
    z: torch.Tensor  # (B, noise_dim)
    category: torch.Tensor  # (B,) int64, or (B, 0) of nothing without a categorical code
    continuous: torch.Tensor  # (B, M) in [-1, 1]

    def g_input(self, categories: int) -> torch.Tensor:
        """G's input: [z, one-hot(category), continuous]: (B, noise_dim + K + M)."""
        parts = [self.z, self.continuous]
        if categories:
            parts.insert(1, F.one_hot(self.category, categories).to(self.z.dtype))
        return torch.cat(parts, dim=1)


class DiscriminatorQ(nn.Module):
    """D and Q on one body: D's logit (``forward``, what the GAN family's ``D`` reads) and Q's outputs."""

    def __init__(self, body: nn.Module, hidden_dim: int, q_hidden: tuple[int, ...], q_outputs: int):
        super().__init__()
        self.body = body  # data -> (B, hidden_dim), before its activation
        self.d_head = nn.Linear(hidden_dim, 1)
        self.q_head = MLP((hidden_dim,), (*q_hidden, q_outputs), act="lrelu")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.body(x), 0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.d_head(self.features(x))  # (B, 1)

    def d_and_q(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(D's logits (B,), Q's outputs (B, q_outputs)) from one pass through the body."""
        h = self.features(x)
        return self.d_head(h).squeeze(-1), self.q_head(h)


@MODELS.register("infogan")
class InfoGAN(GAN):
    Config = InfoGANConfig
    description = ("InfoGAN (Chen et al. 2016): categorical and continuous codes whose mutual information with "
                   "the samples a Q head on D's body maximizes; genlab pictures draws traversals")
    # the 8x8 digits: the paper's 28x28 networks (256-256-1024 body) let D win within 200 updates and the code
    # never reaches the samples (log K - CE stays at 0); with one 128-unit layer and G at Adam 1e-3, 1,500
    # updates bring log K - CE to 2.294 +- 0.002 of log 10 = 2.303 and the test digits' code clusters to purity
    # 0.427 +- 0.019 against 0.192 +- 0.002 for shuffled labels (seeds 0, 1, 2; the README's InfoGAN paragraph)
    # 2-D points: 128-128 MLPs with a 128-unit top, G at Adam 1e-3 and D at 5e-4, 5,000 steps decayed linearly
    # to zero. Searched with `genlab sweep infogan --dataset ring8 --seeds 0,1,2 --grid eval_n_samples=2500
    # --grid KEY=V` (ring8 modes, mean of 3 seeds, and % high quality by seed); from 3,000 steps at lr_d 1e-3:
    # 5.67 modes (7/8 on one machine, 3/8 on another at seed 0), and info_weight 0.1, 0.3, 1: 4.7, 4.7, 4.3;
    # cont_weight 0.1, 0.3: 4.3, 4.0; continuous=0: 5.7; categories=0: 4.7; lr_d 2e-4: 7.33, 5 to 8%; lr_d 5e-4:
    # 8, 66.6 / 51.2 / 44.0%; lr_d 7e-4: 8, 98.6 / 67.0 / 98.3%; lr_d 5e-4 with 5,000 steps: 8, 99.7 / 82.9 /
    # 87.9% (seeds 3 and 4: 8/8, 88.8 and 98.6%), grid25 24, 23, 23 of 25. A D slower than G keeps every
    # mode; the longer decay brings the samples back onto them. The old 256-256-1024 body at 5,850 steps took 9
    # min for 6/8
    presets = {"points": {"model": {"hidden": (128, 128), "hidden_dim": 128, "lr_g": 1e-3, "lr_d": 5e-4},
                          "train": {"steps": 5000, "lr_schedule": "linear"}},
               "small-image": {"model": {"hidden": (128,), "hidden_dim": 128, "lr_g": 1e-3}},
               "image-28": GAN_IMAGES, "image-32": GAN_IMAGES}

    def __init__(self, cfg: InfoGANConfig, info: DataInfo):
        if cfg.pack > 1:
            raise ConfigError("infogan takes pack=1: Q reads the code of one sample")
        super().__init__(cfg, info)

    @property
    def code_dim(self) -> int:
        return self.cfg.categories + self.cfg.continuous

    def networks(self, net: str, g_extra: int, d_extra: int) -> tuple[nn.Module, nn.Module]:
        """G: [z, c] -> data; D and Q: one body (D's layers but the last), two heads."""
        c, info = self.cfg, self.info
        bn = c.batchnorm and net == "conv"
        g = make_decoder(net, c.noise_dim + self.code_dim, info.shape, c.hidden, c.width, act="relu",
                         out_act=output_activation(info), batchnorm=bn)
        body = make_encoder(net, info.shape, c.hidden_dim, c.hidden, c.width, act="lrelu", batchnorm=bn)
        q_outputs = c.categories + c.continuous * (2 if c.cont_std == "learned" else 1)
        return g, DiscriminatorQ(body, c.hidden_dim, c.q_hidden, q_outputs)

    # ------------------------------------------------------------------------------------------------
    # the codes

    def draw(self, n: int, generator: Optional[torch.Generator] = None) -> Codes:
        """n draws of z ~ N(0, I), c_cat ~ U{0..K-1}, c_cont ~ U(-1, 1)^M."""
        c, dev = self.cfg, self.device
        z = self.randn(n, c.noise_dim, generator=generator)
        category = torch.randint(max(c.categories, 1), (n,), device=dev, generator=generator)
        continuous = torch.rand(n, c.continuous, device=dev, generator=generator) * 2 - 1
        return Codes(z, category, continuous)

    def G(self, codes: Codes) -> torch.Tensor:
        return self.generator(codes.g_input(self.cfg.categories))

    def information(self, q: torch.Tensor, codes: Codes) -> dict[str, torch.Tensor]:
        """-L_I (to minimize: lambda's term of both losses) and its parts, from Q's outputs (B, Q) for codes."""
        c = self.cfg
        q = q.float()  # the losses in float32 under mixed precision, as losses.py computes them
        out: dict[str, torch.Tensor] = {}
        nll = q.new_zeros(())
        if c.categories:
            ce = F.cross_entropy(q[:, :c.categories], codes.category)
            nll = nll + ce
            out["mi_cat"] = (math.log(c.categories) - ce).detach()  # L_I of the categorical code, <= log K
        if c.continuous:
            mean = q[:, c.categories: c.categories + c.continuous]
            log_std = q[:, c.categories + c.continuous:] if c.cont_std == "learned" else 0.0
            log_q = gaussian_log_prob(codes.continuous, mean, log_std).mean()  # log Q(c_cont | x), (B,) -> ()
            nll = nll - c.cont_weight * log_q
            out["mi_cont"] = (log_q + c.continuous * math.log(2.0)).detach()  # + H(U(-1, 1)^M)
        out["info_nll"] = nll
        return out

    # ------------------------------------------------------------------------------------------------
    # one training step

    def loss(self, phase: str, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        n = batch.x.shape[0]
        codes = step.shared("codes", lambda: self.draw(n))  # one draw of (z, c) and G(z, c) per minibatch
        fake = step.shared("fake", lambda: self.G(codes))
        lam = self.cfg.info_weight
        if phase == "disc":
            real_logits = self.D(batch.x)
            fake_logits, q = self.discriminator.d_and_q(fake.detach())
            info = self.information(q, codes)
            loss = gan_discriminator_loss(real_logits, fake_logits) + lam * info.pop("info_nll")
            return {"loss": loss, "d_real": torch.sigmoid(real_logits).mean().detach(),
                    "d_fake": torch.sigmoid(fake_logits).mean().detach(), **info}
        fake_logits, q = self.discriminator.d_and_q(fake)
        info = self.information(q, codes)
        return {"loss": gan_generator_loss(fake_logits, self.cfg.loss) + lam * info.pop("info_nll")}

    # ------------------------------------------------------------------------------------------------
    # what samples, pictures and metrics read

    @torch.no_grad()
    def sample(self, n: int, generator: Optional[torch.Generator] = None,
               y: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.G(self.draw(n, generator))

    @torch.no_grad()
    def infer_codes(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Q's reading of data x: categorical probabilities (B, K) and continuous means (B, M)."""
        c = self.cfg
        _, q = self.discriminator.d_and_q(x)
        return {"categorical": torch.softmax(q[:, :c.categories], dim=1) if c.categories else q[:, :0],
                "continuous": q[:, c.categories: c.categories + c.continuous]}

    @torch.no_grad()
    def traversals(self, rows: int, steps: int, generator: Optional[torch.Generator] = None
                   ) -> list[tuple[str, torch.Tensor]]:
        """Latent traversals: for each code, (title, images (rows, columns, ...)) in model space. Row r keeps
        one draw of z and of the other codes; the columns vary the one code: every category of the
        categorical code, or `steps` values from -2 to 2 of a continuous code."""
        c = self.cfg
        base = self.draw(rows, generator)
        out = []
        if c.categories:
            cols = [base._replace(category=torch.full_like(base.category, k)) for k in range(c.categories)]
            out.append((f"categorical code: categories 0..{c.categories - 1}", cols))
        for j in range(c.continuous):
            cols = []
            for v in torch.linspace(-TRAVERSAL_RANGE, TRAVERSAL_RANGE, steps).tolist():
                cont = base.continuous.clone()
                cont[:, j] = v
                cols.append(base._replace(continuous=cont))
            out.append((f"continuous code {j + 1}: {-TRAVERSAL_RANGE:g} .. {TRAVERSAL_RANGE:g}", cols))
        return [(title, torch.stack([self.G(col) for col in cols], dim=1)) for title, cols in out]

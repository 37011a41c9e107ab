"""BiGAN / ALI: bidirectional GANs (Donahue, Krähenbühl & Darrell 2016, "Adversarial Feature Learning";
Dumoulin et al. 2016, "Adversarially Learned Inference").

An encoder E: x -> z and a generator G: z -> x are trained together against one discriminator on *joint*
pairs, which tells the encoder's joint q(x, z) = p_data(x) q(z|x) from the generator's p(x, z) = p(z) p(x|z)
(BiGAN equation 3, ALI equation 1):

    min_{G,E} max_D  V(D, E, G) = E_{x ~ p_data}[log D(x, E(x))] + E_{z ~ p(z)}[log(1 - D(G(z), z))]

At the optimum the two joints are equal, so E inverts G. For each training step (ALI's Algorithm 1, with
BiGAN's k discriminator updates):

    for k steps:  sample x, z;  z^ = E(x), x~ = G(z)            (once per minibatch: ``step.shared``)
                  ascend  log D(x, z^) + log(1 - D(x~, z))                                  (update D)
    on the last minibatch's pairs:  descend  -log D(x~, z) - log(1 - D(x, z^))           (update E and G)

The E-and-G step is the non-saturating form with the labels swapped, as in both papers' code; it scores the
same pairs as D's last update, with the updated D. E and G are
one player with one optimizer (as in ALI). ``posterior=deterministic`` is BiGAN's E(x); ``gaussian`` is
ALI's q(z|x) = N(mu(x), diag sigma^2(x)), sampled by reparameterization. D (``nets.JointCritic``) reads
x through DCGAN convolutions (or flattened, for an MLP), joins z and ends in an MLP.
``reconstruct(x)`` = G(E(x)) with the mean code; ``sample``: G(z), z ~ N(0, I).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from ..config import check
from ..data.base import Batch
from ..losses import gan_discriminator_loss
from ..nets import JointCritic
from ..registry import MODELS
from .base import Phase, Player, Step
from .hybrid import AutoencodingGAN, HybridConfig
from .image_presets import GAN_IMAGES


@dataclass
class BiGANConfig(HybridConfig):
    posterior: Literal["deterministic", "gaussian"] = "deterministic"  # BiGAN's E(x) or ALI's q(z|x)
    d_steps: int = 1  # discriminator updates per encoder-and-generator update

    def __post_init__(self):
        super().__post_init__()
        check(self.d_steps >= 1, "d_steps", "must be >= 1")


@MODELS.register("bigan")
class BiGAN(AutoencodingGAN):
    Config = BiGANConfig
    description = "BiGAN / ALI (Donahue et al. 2016, Dumoulin et al. 2016): D on pairs (x, E(x)) vs (G(z), z)"
    # 2-D points: Adam 1e-3 decayed linearly to zero over the run. Seed 0, 5,850 steps (ring8 modes / % high
    # quality; grid25 modes / %): constant 8/8 42.2%, 25/25 48.2%; linear 8/8 54.0%, 23/25 33.8%
    presets = {"points": {"model": {"latent_dim": 2, "lr_g": 1e-3, "lr_d": 1e-3}, "train": {"lr_schedule": "linear"}},
               "image-28": GAN_IMAGES, "image-32": GAN_IMAGES}

    def stochastic(self) -> bool:
        return self.cfg.posterior == "gaussian"

    def build_critics(self, net: str, batchnorm: bool) -> None:
        c = self.cfg
        self.discriminator = JointCritic(net, self.info.shape, c.latent_dim, c.hidden, c.width, batchnorm)

    def players(self) -> dict[str, Player]:
        return {"disc": Player([self.discriminator], self.adam(self.cfg.lr_d)),
                "gen": Player([self.encoder, self.decoder], self.adam(self.cfg.lr_g))}

    def phases(self) -> list[Phase]:
        return [Phase("disc")] * self.cfg.d_steps + [Phase("gen", data=False)]

    def D(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.discriminator(x, z).float()  # (B,) logits: the pair came from the encoder

    def pairs(self, x: torch.Tensor) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
        """The encoder's pair (x, E(x)) and the generator's pair (G(z), z), z ~ p(z)."""
        z = self.prior(x.shape[0])
        return (x, self.code(x)), (self.decoder(z), z)

    def loss(self, phase: str, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        encoded, generated = step.shared("pairs", lambda: self.pairs(batch.x))
        enc, gen = self.D(*encoded), self.D(*generated)
        if phase == "disc":
            return {"loss": gan_discriminator_loss(enc, gen), "d_enc": torch.sigmoid(enc).mean().detach(),
                    "d_gen": torch.sigmoid(gen).mean().detach()}
        return {"loss": gan_discriminator_loss(gen, enc)}  # the labels swapped

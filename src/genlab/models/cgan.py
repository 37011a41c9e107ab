"""Conditional GAN (Mirza & Osindero 2014, "Conditional Generative Adversarial Nets", equation 2).

Both players see the class label y, fed in as an extra input (a one-hot code):

    min_G max_D  E_{x,y ~ data}[log D(x | y)] + E_{z, y ~ data}[log(1 - D(G(z | y) | y))]

G gets [z, onehot(y)]; D gets the data with onehot(y) appended: as extra inputs for an MLP, as constant
extra channels (one per class) for the DCGAN networks (the input sizes are set in ``GAN.__init__``). Training follows the GAN's Algorithm 1 with the
labels of the real batch given to the generator; ``genlab sample DIR --class C`` draws from one class.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from ..data.base import Batch
from ..losses import gan_discriminator_loss, gan_generator_loss
from ..registry import MODELS
from .base import Step
from .gan import GAN, GANConfig


@MODELS.register("cgan")
class CGAN(GAN):
    Config = GANConfig
    description = "conditional GAN (Mirza & Osindero 2014): G and D see the class label; sample --class C"
    conditional = True

    def onehot(self, y: torch.Tensor) -> torch.Tensor:
        return F.one_hot(y, self.info.num_classes).float()  # (B, K)

    def G(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.generator(torch.cat([z, self.onehot(y)], 1))

    def D(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        code = self.onehot(y)
        if x.dim() == 4 and self.net_kind() == "conv":  # one constant channel per class: (B, C + K, H, W)
            x = torch.cat([x, code[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1)
        else:
            x = torch.cat([x.flatten(1), code], 1)  # (B, D + K)
        return self.discriminator(x).squeeze(-1).float()

    def loss(self, phase: str, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        y = batch.y
        z = self.randn(batch.x.shape[0], self.cfg.noise_dim)
        if phase == "disc":
            with torch.no_grad():
                fake = self.G(z, y)
            real_logits, fake_logits = self.D(batch.x, y), self.D(fake, y)
            return {"loss": gan_discriminator_loss(real_logits, fake_logits),
                    "d_real": torch.sigmoid(real_logits).mean().detach(),
                    "d_fake": torch.sigmoid(fake_logits).mean().detach()}
        return {"loss": gan_generator_loss(self.D(self.G(z, y), y), self.cfg.loss)}

    @torch.no_grad()
    def sample(self, n: int, generator: Optional[torch.Generator] = None,
               y: Optional[torch.Tensor] = None) -> torch.Tensor:
        y = self.labels(n, generator, y)
        return self.G(self.randn(n, self.cfg.noise_dim, generator=generator), y)

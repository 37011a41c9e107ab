"""Unrolled GAN (Metz, Poole, Pfau & Sohl-Dickstein 2016, "Unrolled Generative Adversarial Networks",
equations 4-6).

With f(theta_G, theta_D) the GAN's value function, the discriminator is unrolled K steps ahead,

    theta_D^0 = theta_D,    theta_D^{k+1} = theta_D^k + eta * d f(theta_G, theta_D^k) / d theta_D^k,

and the generator descends the surrogate f_K(theta_G, theta_D) = f(theta_G, theta_D^K(theta_G, theta_D)),
differentiating through the K updates (so G sees how D would react to it), while D itself takes the
ordinary update on f. The unrolled steps are plain gradient steps of size ``unroll_lr`` taken on copies of
D's parameters with ``torch.func.functional_call`` (D's module and its batch-norm statistics are not
touched), on the phase's real batch and the same generated batch (one pass over both where D has no batch
norm). With K = 0 this is exactly the GAN.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.func import functional_call

from ..config import check
from ..data.base import Batch
from ..losses import gan_discriminator_loss, gan_generator_loss
from ..registry import MODELS
from .base import Step
from .gan import GAN, GANConfig
from .image_presets import GAN_IMAGES


IMAGES = {"model": {"unroll_steps": 3, "unroll_lr": 1e-3}, **GAN_IMAGES}  # 28x28 and 32x32 images (see the class)


@dataclass
class UnrolledConfig(GANConfig):
    unroll_steps: int = 5  # K
    unroll_lr: float = 1e-2  # eta, the step size of the unrolled (SGD) discriminator updates

    def __post_init__(self):
        super().__post_init__()
        check(self.unroll_steps >= 0, "unroll_steps", "must be >= 0")
        check(self.unroll_lr > 0, "unroll_lr", "must be > 0")


@MODELS.register("unrolled")
class UnrolledGAN(GAN):
    Config = UnrolledConfig
    description = "unrolled GAN (Metz et al. 2016): G's loss through K unrolled D updates (functional calls)"
    # 2-D points: the paper's 128-128 MLPs and a length that takes minutes (a K = 5 step costs 6 to 7 GAN
    # steps: `benchmarks/throughput.py --only points`).
    # Searched on ring8 (2,500 steps, seed 0; modes / % high quality): lr_g, lr_d = 1e-3, 1e-3: 6/8, 1.3%;
    # 1e-3, 2e-4: 8/8, 54.0%; 2e-4, 1e-3: 1/8 (collapsed); 2e-4, 2e-4: 8/8, 15.0%. Decayed linearly to zero
    # (ring8; grid25 modes / %): 1e-3, 2e-4: 8/8, 74.0%; 18/25, 1.8% (constant: 19/25); 1e-3, 1e-4: 8/8, 69.8%;
    # 21/25, 2.4%; 1e-3, 1e-3: 15/25; 1e-3, 5e-4: 19/25; 5e-4, 2e-4: 19/25.
    # 28x28 images: K = 3 unrolled steps of SGD 1e-3. Searched on Fashion-MNIST (3 epochs, seed 0, FID in the
    # domain classifier's features, 10,000 samples; `genlab sweep unrolled --dataset fashion-mnist --epochs 3
    # --grid unroll_steps=K --grid unroll_lr=ETA --grid eval_n_samples=10000 --grid eval_n_data=10000 --grid
    # eval_features=classifier --metric min:fid --metrics classes`): K = 5 at 1e-2 (the points setting) 150.1,
    # barely recognizable, its unrolled D so sure (d_fake 0.003) that G's gradient saturates; K = 1 at 1e-2
    # 319.0 with 3 classes; K = 1 at 1e-3 89.2; K = 3 at 1e-3 79.9, all 10 classes, in 32 min on 1 thread with
    # three other runs on the 2 cores (K = 1: 13 min). 32x32 colour (the stand-in of models/image_presets.py, same
    # protocol): K = 3 at 1e-3 FID 68.4, all 10 classes, 50 min on 1 thread beside one or two other runs (about
    # 1 s a step); K = 5 at 1e-2 was not run there
    presets = {"points": {"model": {"hidden": (128, 128), "lr_g": 1e-3, "lr_d": 1e-4},
                          "train": {"steps": 2500, "lr_schedule": "linear"}},
               "image-28": IMAGES, "image-32": IMAGES}

    def loss(self, phase: str, batch: Batch, step: Step) -> dict[str, torch.Tensor]:
        if phase == "disc":
            return super().loss(phase, batch, step)
        fake = self.fake(batch.x.shape[0])
        # differentiable copies of D's weights: G's gradient flows through the unrolled steps, D's own
        # parameters get none; buffers are copied so that batch-norm statistics stay as they are
        params = {n: p.detach().requires_grad_(True) for n, p in self.discriminator.named_parameters()}
        buffers = {n: b.clone() for n, b in self.discriminator.named_buffers()}
        n_real = batch.x.shape[0]

        def D(x: torch.Tensor, weights: dict) -> torch.Tensor:
            return functional_call(self.discriminator, (weights, buffers), (self.packed(x),)).squeeze(-1).float()

        def d_loss(weights: dict) -> torch.Tensor:
            if buffers:  # batch norm: real and generated batches are normalized apart, as in D's own update
                return gan_discriminator_loss(D(batch.x, weights), D(fake, weights))
            logits = D(torch.cat([batch.x, fake]), weights)  # one pass over both: the same numbers, fewer ops
            cut = n_real // self.cfg.pack
            return gan_discriminator_loss(logits[:cut], logits[cut:])

        for _ in range(self.cfg.unroll_steps):
            grads = torch.autograd.grad(d_loss(params), list(params.values()), create_graph=True)
            params = {n: p - self.cfg.unroll_lr * g for (n, p), g in zip(params.items(), grads)}
        return {"loss": gan_generator_loss(D(fake, params), self.cfg.loss)}

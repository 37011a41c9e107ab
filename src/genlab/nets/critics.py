"""Discriminators with more than a logit to give: a hidden layer's features (VAE-GAN's Dis_l), or a joint
input (x, z) (BiGAN / ALI). Both use the shared MLP and DCGAN pieces with LeakyReLU, as the GAN family's D."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .conv import ConvEncoder
from .mlp import MLP


@dataclass
class CriticOutput:
    features: torch.Tensor  # (B, F): the last hidden layer, after its activation
    logits: torch.Tensor  # (B,)


class FeatureCritic(nn.Module):
    """x (B, *shape) -> CriticOutput: a trunk to the last hidden layer (the MLP's last hidden layer, or the
    flattened feature map of the DCGAN convolutions) and a linear head to one logit."""

    def __init__(self, net: str, shape: tuple[int, ...], hidden: tuple[int, ...], width: int,
                 batchnorm: bool = False):
        super().__init__()
        if net == "conv":
            conv = ConvEncoder(shape, 1, width=width, batchnorm=batchnorm, act="lrelu")
            self.trunk = nn.Sequential(conv.features, nn.Flatten())
            self.head = conv.out
        else:
            self.trunk = MLP(shape, hidden, act="lrelu", out_act="lrelu")
            self.head = nn.Linear(hidden[-1], 1)

    def forward(self, x: torch.Tensor) -> CriticOutput:
        h = self.trunk(x)
        return CriticOutput(h.float(), self.head(h).squeeze(-1).float())  # float32 under mixed precision


class JointCritic(nn.Module):
    """D(x, z) -> logits (B,): x through a data network (the DCGAN convolutions to hidden[0] features, or
    flattened as it is for an MLP), concatenated with z, then an MLP with LeakyReLU to one logit."""

    def __init__(self, net: str, shape: tuple[int, ...], z_dim: int, hidden: tuple[int, ...], width: int,
                 batchnorm: bool = False):
        super().__init__()
        if net == "conv":
            self.x_net = nn.Sequential(ConvEncoder(shape, hidden[0], width=width, batchnorm=batchnorm, act="lrelu"),
                                       nn.LeakyReLU(0.2))
            x_dim = hidden[0]
        else:
            self.x_net = nn.Flatten()
            x_dim = math.prod(shape)
        self.joint = MLP((x_dim + z_dim,), (*hidden, 1), act="lrelu")

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.joint(torch.cat([self.x_net(x), z], dim=1)).squeeze(-1)

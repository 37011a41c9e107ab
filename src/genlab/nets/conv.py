"""DCGAN-style convolutional networks (Radford et al. 2015) for any image size of the form s * 2^n.

Strided convolutions down, fractional-strided (transposed) convolutions up, no pooling, batch norm
optional, one linear map between the smallest feature map and the vector (latent code or logit).
28x28 goes 28 -> 14 -> 7, 32x32 goes 32 -> 16 -> 8 -> 4, 8x8 goes 8 -> 4.
"""

from __future__ import annotations

import torch
from torch import nn

from .mlp import activation


def conv_plan(size: int) -> tuple[int, int]:
    """(smallest feature-map size, number of stride-2 stages) for an image side of `size`."""
    n = 0
    while size % 2 == 0 and size // 2 >= 4:
        size //= 2
        n += 1
    if n == 0:
        raise ValueError(f"convolutional networks need an image side divisible by 2 with a result >= 4, got {size}")
    return size, n


class ConvEncoder(nn.Module):
    """(B, C, H, W) -> (B, out_dim): channels width, 2*width, 4*width ... halving the side each stage."""

    def __init__(self, shape: tuple[int, int, int], out_dim: int, width: int = 64, batchnorm: bool = True,
                 act: str = "lrelu", layernorm: bool = False):
        super().__init__()
        c, h, w = shape
        if h != w:
            raise ValueError(f"convolutional networks need square images, got {h}x{w}")
        s, n = conv_plan(h)
        layers: list[nn.Module] = []
        ch = c
        for i in range(n):
            out = width * 2**i
            layers.append(nn.Conv2d(ch, out, 4, 2, 1, bias=not ((batchnorm or layernorm) and i > 0)))
            if batchnorm and i > 0:  # DCGAN: no batch norm on the first layer of D
                layers.append(nn.BatchNorm2d(out))
            elif layernorm and i > 0:  # per example over (C, H, W): keeps a per-sample gradient penalty valid
                layers.append(nn.GroupNorm(1, out))
            layers.append(activation(act))
            ch = out
        self.features = nn.Sequential(*layers)
        self.out = nn.Linear(ch * s * s, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x).flatten(1))


class ConvDecoder(nn.Module):
    """(B, in_dim) -> (B, C, H, W): a linear map to the smallest feature map, then transposed convolutions."""

    def __init__(self, in_dim: int, shape: tuple[int, int, int], width: int = 64, batchnorm: bool = True,
                 act: str = "relu", out_act: str = "none"):
        super().__init__()
        c, h, _ = shape
        s, n = conv_plan(h)
        self.start = (width * 2 ** (n - 1), s, s)
        self.fc = nn.Linear(in_dim, width * 2 ** (n - 1) * s * s, bias=not batchnorm)
        layers: list[nn.Module] = []
        if batchnorm:
            layers.append(nn.BatchNorm1d(self.fc.out_features))
        layers.append(activation(act))
        self.fc_act = nn.Sequential(*layers)
        ups: list[nn.Module] = []
        ch = self.start[0]
        for i in range(n - 1, -1, -1):
            last = i == 0
            out = c if last else width * 2 ** (i - 1)
            ups.append(nn.ConvTranspose2d(ch, out, 4, 2, 1, bias=last or not batchnorm))
            if not last:
                if batchnorm:
                    ups.append(nn.BatchNorm2d(out))
                ups.append(activation(act))
            ch = out
        ups.append(activation(out_act))
        self.ups = nn.Sequential(*ups)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc_act(self.fc(z)).view(-1, *self.start)
        return self.ups(h)

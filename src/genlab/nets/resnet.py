"""The residual image-to-image generator of CycleGAN (Zhu et al. 2017, appendix 7.2; Johnson et al. 2016),
small: it never leaves the image's resolution, so it works for any image size."""

from __future__ import annotations

import torch
from torch import nn

from .mlp import activation


class ResidualBlock(nn.Module):
    """x + conv-norm-ReLU-conv-norm(x), 3x3 convolutions with reflection padding (the paper's block)."""

    def __init__(self, ch: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), nn.InstanceNorm2d(ch, affine=True), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(ch, ch, 3), nn.InstanceNorm2d(ch, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def conv_translator(channels: int, width: int, blocks: int, out_act: str) -> nn.Module:
    """(B, C, H, W) -> (B, C, H, W) for any H, W: 3x3 conv to `width`, residual blocks, 3x3 conv back."""
    return nn.Sequential(
        nn.Conv2d(channels, width, 3, padding=1), nn.InstanceNorm2d(width, affine=True), nn.ReLU(),
        *[ResidualBlock(width) for _ in range(blocks)],
        nn.Conv2d(width, channels, 3, padding=1), activation(out_act),
    )

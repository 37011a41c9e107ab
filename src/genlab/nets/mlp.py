"""Multi-layer perceptrons that flatten their input and can reshape their output."""

from __future__ import annotations

import math

import torch
from torch import nn

ACTIVATIONS = {
    "relu": lambda: nn.ReLU(),
    "lrelu": lambda: nn.LeakyReLU(0.2),
    "tanh": lambda: nn.Tanh(),
    "elu": lambda: nn.ELU(),
    "softplus": lambda: nn.Softplus(),
    "sigmoid": lambda: nn.Sigmoid(),
    "none": lambda: nn.Identity(),
}


def activation(name: str) -> nn.Module:
    return ACTIVATIONS[name]()


class MLP(nn.Module):
    """in_shape -> sizes[0] -> ... -> sizes[-1], with `act` between layers and `out_act` at the end."""

    def __init__(self, in_shape: tuple[int, ...], sizes: tuple[int, ...], act: str = "relu",
                 out_act: str = "none", out_shape: tuple[int, ...] | None = None, batchnorm: bool = False):
        super().__init__()
        layers: list[nn.Module] = []
        d = math.prod(in_shape)
        for i, h in enumerate(sizes):
            layers.append(nn.Linear(d, h))
            if i < len(sizes) - 1:
                if batchnorm:
                    layers.append(nn.BatchNorm1d(h))
                layers.append(activation(act))
            d = h
        layers.append(activation(out_act))
        self.net = nn.Sequential(*layers)
        self.out_shape = out_shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.net(x.flatten(1))
        return h if self.out_shape is None else h.view(-1, *self.out_shape)

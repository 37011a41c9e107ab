"""Networks and network pieces shared by the models: MLPs, DCGAN-style convolutional encoders and decoders,
critics with features or joint inputs, CycleGAN's residual translator, the Gaussian head and the DCGAN init."""

from __future__ import annotations

import math

from ..errors import ConfigError
from .conv import ConvDecoder, ConvEncoder, conv_plan
from .critics import CriticOutput, FeatureCritic, JointCritic
from .gaussian import gaussian_params, reparameterize
from .init import dcgan_init
from .mlp import MLP, activation
from .resnet import ResidualBlock, conv_translator

__all__ = ["MLP", "ConvEncoder", "ConvDecoder", "conv_plan", "make_encoder", "make_decoder", "resolve_net",
           "output_activation", "CriticOutput", "FeatureCritic", "JointCritic", "gaussian_params",
           "reparameterize", "dcgan_init", "activation", "ResidualBlock", "conv_translator"]


def resolve_net(net: str, shape: tuple[int, ...], conv_from: int = 16) -> str:
    """The network kind for data of `shape` ((C, H, W) images or (D,) points): 'auto' -> 'conv' for images
    of at least `conv_from` pixels a side, 'mlp' otherwise (points, 8x8 digits). 'conv' on points is refused:
    the one place that says so."""
    image = len(shape) == 3
    if net == "auto":
        return "conv" if image and min(shape[1:]) >= conv_from else "mlp"
    if net == "conv" and not image:
        raise ConfigError("net=conv needs image data; use net=mlp (or net=auto)")
    return net


def output_activation(info) -> str:
    """The generator's last activation for data described by `info`: none for points, tanh for images in
    [-1, 1], sigmoid for images in [0, 1]."""
    if info.kind == "points":
        return "none"
    return "tanh" if info.range == "pm1" else "sigmoid"


def make_encoder(net: str, shape: tuple[int, ...], out_dim: int, hidden: tuple[int, ...], width: int,
                 act: str = "relu", batchnorm: bool = False, layernorm: bool = False):
    """Data (B, *shape) -> features (B, out_dim); the normalizations apply to convolutional networks."""
    if net == "conv":
        return ConvEncoder(shape, out_dim, width=width, batchnorm=batchnorm, act=act, layernorm=layernorm)
    return MLP(shape, (*hidden, out_dim), act=act)


def make_decoder(net: str, in_dim: int, shape: tuple[int, ...], hidden: tuple[int, ...], width: int,
                 act: str = "relu", out_act: str = "none", batchnorm: bool = False):
    """Latent (B, in_dim) -> data (B, *shape)."""
    if net == "conv":
        return ConvDecoder(in_dim, shape, width=width, batchnorm=batchnorm, act=act, out_act=out_act)
    return MLP((in_dim,), (*hidden, math.prod(shape)), act=act, out_act=out_act, out_shape=shape)

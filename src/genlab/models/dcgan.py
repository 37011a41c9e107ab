"""DCGAN (Radford, Metz & Chintala 2015, "Unsupervised Representation Learning with Deep Convolutional GANs").

The GAN of Goodfellow et al. (``gan.py``, Algorithm 1 with the non-saturating loss) with the paper's
architecture guidelines (section 3) and training details (section 4):

- strided convolutions in D and fractional-strided (transposed) convolutions in G, no pooling;
- batch norm in both, except G's output layer and D's input layer;
- no fully connected hidden layers: G's first layer is a matrix multiplication reshaped into the smallest
  feature map, D's last is the flattened last feature map times one weight vector;
- ReLU in G with tanh at the output, LeakyReLU (slope 0.2) in D;
- Adam with lr 0.0002 and beta1 0.5, weights drawn from N(0, 0.02), noise of 100 dimensions.

The networks are ``nets/conv.py``'s (28x28 goes 28 -> 14 -> 7, 32x32 goes 32 -> 16 -> 8 -> 4; 8x8 goes
8 -> 4) and every GAN-family model can use them with ``net=conv``; this model is the GAN with them chosen
for images of any size. 2-D points have no spatial structure to convolve: there it uses the MLPs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..nets import resolve_net
from ..registry import MODELS
from .gan import GAN, GANConfig
from .image_presets import image_presets


@dataclass
class DCGANConfig(GANConfig):
    noise_dim: int = 100
    net: Literal["auto", "mlp", "conv"] = "auto"  # auto: conv for every image size, mlp for points
    init: Literal["torch", "dcgan"] = "dcgan"


@MODELS.register("dcgan")
class DCGAN(GAN):
    Config = DCGANConfig
    description = "DCGAN (Radford et al. 2015): the GAN with DCGAN conv nets for every image size and N(0, 0.02) init"
    named_presets = image_presets("gan")

    def net_kind(self) -> str:
        return resolve_net(self.cfg.net, self.info.shape, conv_from=1)  # conv for every image size

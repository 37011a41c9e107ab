"""Conditional variational autoencoder (Sohn, Lee & Yan 2015, "Learning Structured Output Representation
using Deep Conditional Generative Models"; Kingma et al. 2014's M2 model with observed labels).

Both networks see the class label y: q(z | x, y) and p(x | z, y), with p(z) = N(0, I); the bound is the
conditional ELBO  E_q[log p(x | z, y)] - KL(q(z | x, y) || p(z)). Sampling a chosen class: z ~ p(z),
x ~ p(x | z, y). The label enters the encoder as a learned shift of its output (a linear head on
[h(x), onehot(y)]) and the decoder as a one-hot vector beside z.
"""

from __future__ import annotations

from ..registry import MODELS
from .vae import VAE


@MODELS.register("cvae")
class CVAE(VAE):
    description = "conditional VAE (Sohn et al. 2015): encoder and decoder see the label; sample any class"
    conditional = True

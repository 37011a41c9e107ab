"""Models by name. Importing this package registers every built-in model."""

from . import cgan, dcgan, fgan, gan, unrolled, vae, wgan, wgan_gp  # noqa: F401  (registration)
from .base import GenerativeModel, OptimSpec, Phase, Player

__all__ = ["GenerativeModel", "OptimSpec", "Phase", "Player"]

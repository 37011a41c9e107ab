"""Models by name. Importing this package registers every built-in model."""

from . import gan, vae  # noqa: F401  (registration)
from .base import GenerativeModel, OptimSpec, Phase, Player

__all__ = ["GenerativeModel", "OptimSpec", "Phase", "Player"]

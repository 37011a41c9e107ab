"""Models by name. Importing this package registers every built-in model."""

from . import beta_vae, cgan, cvae, dcgan, fgan, gan, iwae, unrolled, vae, vr, wgan, wgan_gp  # noqa: F401  (registration)
from . import aae, alphagan, bigan, cyclegan, vaegan  # noqa: F401  (registration: the hybrids of issue 6)
from . import infogan  # noqa: F401  (registration)
from .base import GenerativeModel, OptimSpec, Phase, Player, Step, frozen

__all__ = ["GenerativeModel", "OptimSpec", "Phase", "Player", "Step", "frozen"]

"""Every built-in explainer: importing this module registers each one in ``EXPLAINERS``."""

from . import EXPLAINERS, divergences, gan_1d, gradients, importance, iwae_bound  # noqa: F401

"""Every built-in reproduction: importing this module registers each one in ``REPRODUCTIONS``."""

from . import (REPRODUCTIONS, alphagan_table, beta_ablation, defaults, divergence_fit,  # noqa: F401
               iwae_table, mode_collapse, vae_vs_gan)

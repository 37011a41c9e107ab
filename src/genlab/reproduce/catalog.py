"""Every built-in reproduction: importing this module registers each one in ``REPRODUCTIONS``."""

from . import (REPRODUCTIONS, alphagan_table, beta_ablation, divergence_fit, iwae_table,  # noqa: F401
               mode_collapse, vae_vs_gan)

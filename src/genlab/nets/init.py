"""Weight initializations named by the papers that prescribe them."""

from __future__ import annotations

from torch import nn


def dcgan_init(module: nn.Module) -> None:
    """Radford et al. 2015, section 4: all weights from N(0, 0.02); batch-norm scales N(1, 0.02), shifts 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)

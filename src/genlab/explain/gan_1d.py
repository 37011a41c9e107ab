"""`genlab explain gan-1d`: the 1-D picture of GAN training from Goodfellow et al. 2014 (their Figure 1).

The data is N(2, 0.5^2); the generator maps z ~ N(0, 1) through G(z) = a z + b, so its density
p_g = N(b, a^2) is exact at every step; the discriminator D is a small MLP with a sigmoid output, trained
with the non-saturating GAN losses (``losses.gan_discriminator_loss`` and ``gan_generator_loss``). For a
fixed generator the best discriminator is D*(x) = p_data(x) / (p_data(x) + p_g(x)) (the paper's
Proposition 1); where the densities meet it is 1/2, and when p_g = p_data it is 1/2 everywhere, the
game's equilibrium. The figure shows data density, generator density and D(x) at several points of
training, with D* dotted; each snapshot is also written as a frame (``frames/``) for slides.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

from . import EXPLAINERS, Explainer, common_arguments, one_thread

if TYPE_CHECKING:
    import torch

DATA = (2.0, 0.5)  # mean, std
START = (-1.0, 1.0)  # the generator's initial b, a
SNAPSHOTS = (0, 50, 200, 1500)  # generator updates at which the picture is taken
X_RANGE = (-4.0, 5.0)


def normal_pdf(x: torch.Tensor, mean, std) -> torch.Tensor:
    import torch

    return torch.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


class Game:
    """The generator's (b, log a), the discriminator and their optimizers."""

    def __init__(self, seed: int, lr: float = 5e-3, hidden: int = 32):
        import torch

        from ..nets import MLP

        torch.manual_seed(seed)
        self.lr = lr
        self.gen = torch.Generator().manual_seed(seed)
        self.theta = torch.nn.Parameter(torch.tensor([START[0], math.log(START[1])]))
        self.D = MLP((1,), (hidden, hidden, 1), act="lrelu")
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=lr, betas=(0.5, 0.999))
        self.opt_g = torch.optim.Adam([self.theta], lr=lr, betas=(0.5, 0.999))

    @property
    def generator_params(self) -> tuple[float, float]:
        return self.theta[0].item(), self.theta[1].exp().item()

    def fake(self, n: int) -> torch.Tensor:
        import torch

        return self.theta[0] + self.theta[1].exp() * torch.randn(n, 1, generator=self.gen)

    def real(self, n: int) -> torch.Tensor:
        import torch

        return DATA[0] + DATA[1] * torch.randn(n, 1, generator=self.gen)

    def set_lr(self, scale: float) -> None:
        for opt in (self.opt_d, self.opt_g):
            for group in opt.param_groups:
                group["lr"] = self.lr * scale

    def d_step(self, batch: int = 128) -> None:
        from ..losses import gan_discriminator_loss

        loss = gan_discriminator_loss(self.D(self.real(batch)), self.D(self.fake(batch).detach()))
        self.opt_d.zero_grad()
        loss.backward()
        self.opt_d.step()

    def g_step(self, batch: int = 128) -> None:
        from ..losses import gan_generator_loss

        loss = gan_generator_loss(self.D(self.fake(batch)))
        self.opt_g.zero_grad()
        loss.backward()
        self.opt_g.step()

    def snapshot(self, step: int, x: torch.Tensor) -> dict:
        import torch

        b, a = self.generator_params
        p, q = normal_pdf(x, *DATA), normal_pdf(x, b, a)
        with torch.no_grad():
            d = torch.sigmoid(self.D(x.unsqueeze(1)))[:, 0]
        return {"step": step, "b": b, "a": a, "p_data": p, "p_g": q, "D": d, "D_star": p / (p + q)}


@one_thread()
def train(seed: int = 0, snapshots=SNAPSHOTS, d_steps: int = 2) -> list[dict]:
    """Train the game, `d_steps` discriminator updates per generator update (D stays near D*, as the paper's
    analysis assumes), and return the snapshots. The step size decays to a tenth over the last half."""
    import torch

    game = Game(seed)
    x = torch.linspace(*X_RANGE, 400)
    total = max(snapshots)
    for _ in range(50):  # D first learns to tell the initial generator from the data (the figure's panel a)
        game.d_step()
    out = [game.snapshot(0, x)] if 0 in snapshots else []
    half = total // 2
    for step in range(1, total + 1):
        if step > half:
            game.set_lr(1 - 0.9 * (step - half) / (total - half))
        for _ in range(d_steps):
            game.d_step()
        game.g_step()
        if step in snapshots:
            out.append(game.snapshot(step, x))
    return out


def summary(snap: dict) -> dict:
    """How far D is from 1/2 and from D*, averaged under the data density; the generator's parameters."""
    w = snap["p_data"] / snap["p_data"].sum()
    return {"step": snap["step"], "b": snap["b"], "a": snap["a"],
            "mean |D - 1/2|": float((w * (snap["D"] - 0.5).abs()).sum()),
            "mean |D - D*|": float((w * (snap["D"] - snap["D_star"]).abs()).sum())}


def run(args: argparse.Namespace) -> dict:
    snaps = train(args.seed)
    out = Path(args.out)
    print(f"data N({DATA[0]:g}, {DATA[1]:g}^2); generator N(b, a^2), started at b = {START[0]:g}, a = {START[1]:g}")
    print(f"{'step':>6} {'b':>8} {'a':>8} {'mean |D - 1/2|':>16} {'mean |D - D*|':>15}   (averaged under p_data)")
    rows = [summary(s) for s in snaps]
    for r in rows:
        print(f"{r['step']:>6} {r['b']:>8.3f} {r['a']:>8.3f} {r['mean |D - 1/2|']:>16.3f} {r['mean |D - D*|']:>15.3f}")
    letters = "abcdefghij"
    (out / "frames").mkdir(parents=True, exist_ok=True)
    for i, s in enumerate(snaps):
        plot([s], out / "frames" / f"gan-1d-{s['step']:05d}.png", letters[i:])
    path = plot(snaps, out / "gan-1d.png", letters)
    print(f"wrote {path} and {len(snaps)} frames in {out / 'frames'}")
    return {"snapshots": rows}


def plot(snaps: list[dict], path: Path, letters: str) -> Path:
    import torch

    from ..plots import _pyplot, _save

    plt = _pyplot()
    x = torch.linspace(*X_RANGE, 400).numpy()
    fig, axes = plt.subplots(1, len(snaps), figsize=(max(3.6 * len(snaps), 7.2), 3.8), dpi=110, squeeze=False,
                             sharey=True)
    for ax, s, letter in zip(axes[0], snaps, letters):
        ax.plot(x, s["p_data"].numpy(), color="k", ls=":", lw=2, label="data p_data")
        ax.plot(x, s["p_g"].numpy(), color="tab:green", lw=1.8, label="generator p_g")
        ax.plot(x, s["D"].numpy(), color="tab:blue", ls="--", lw=1.6, label="discriminator D(x)")
        ax.plot(x, s["D_star"].numpy(), color="tab:blue", ls=":", lw=0.9, alpha=0.7, label="D* = p_data / (p_data + p_g)")
        ax.axhline(0.5, color="0.6", lw=0.6)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"({letter}) after {s['step']} generator updates", fontsize=9)
        ax.set_xlabel("x")
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="lower center", ncol=4, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return _save(fig, path)


EXPLAINERS.add("gan-1d", Explainer(
    "Goodfellow's 1-D picture: data density, generator density and D(x) during GAN training, with D* = "
    "p_data / (p_data + p_g)", common_arguments, run))

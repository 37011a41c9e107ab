"""The independent Wasserstein critic (Rosca et al. 2017, "Variational Approaches for Auto-Encoding
Generative Adversarial Networks", section 6; Danihelka et al. 2017).

A fresh critic D, unrelated to any model's discriminator, is trained with the WGAN-GP objective
(Gulrajani et al. 2017, eq. 3) to tell training images from the model's samples:

    min_D  E_g[D(x_g)] - E_r[D(x_r)] + lambda E_xhat[(||grad D(xhat)||_2 - 1)^2],  xhat = eps x_r + (1 - eps) x_g

and then evaluated on held-out data: W = E_test[D(x)] - E_fresh samples[D(x)], an estimate (a lower
bound, up to the critic's capacity and training) of the Wasserstein-1 distance. Lower is better; it is
comparable between models only at the same budget, which is stored with the number. The real-versus-real
value replaces the model by more training images, disjoint from those the critic learned from.

``critic_other`` is the same critic's distance measured with images of the other split (by default: training
images) that the critic never saw: the talk's overfitting check (``critic_other_real``: the real-versus-real
critic's, measured the same way). A model that memorized its training set
is closer to those than to held-out ones (critic_other < critic); a model that generalizes is as far from both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..config import check
from ..losses import gradient_penalty as wgan_gradient_penalty
from ..nets import make_encoder, resolve_net
from .base import LOWER, EvalContext, register_metric
from .samples import CRITIC_SEED, FRESH_SAMPLES_SEED, N_SAMPLES, cpu_generator


@dataclass(frozen=True)
class CriticBudget:
    """The critic's training budget and recipe (stored with every number it gives)."""

    steps: int = 500
    batch_size: int = 64
    lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.9
    gp_weight: float = 10.0
    width: int = 32  # conv critics: channels of the first layer; MLP critics use hidden (256, 256)

    def __post_init__(self):
        check(self.steps >= 1, "critic_steps", "must be >= 1")
        check(self.batch_size >= 2, "batch_size", "must be >= 2")


def critic_net(shape: tuple[int, ...], width: int) -> nn.Module:
    """A critic without batch norm (the gradient penalty is per example): DCGAN-style conv or an MLP."""
    return make_encoder(resolve_net("auto", shape), shape, 1, hidden=(256, 256), width=width, act="lrelu")


def gradient_penalty(net: nn.Module, real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """E[(||grad D(xhat)||_2 - 1)^2] at xhat = eps real + (1 - eps) fake; eps (B,) in [0, 1]."""
    e = eps.view(-1, *([1] * (real.dim() - 1)))
    return wgan_gradient_penalty(net, e * real + (1 - e) * fake)


def train_critic(real_x: torch.Tensor, fake_x: torch.Tensor, budget: CriticBudget,
                 generator: torch.Generator) -> nn.Module:
    """A critic trained by the WGAN-GP objective on minibatches of real_x against fake_x (both (N, ...))."""
    with torch.random.fork_rng():  # the initialization draws from the global generator: seed it from ours
        torch.manual_seed(int(torch.randint(2**31, (1,), generator=generator)))
        net = critic_net(tuple(real_x.shape[1:]), budget.width)
    opt = torch.optim.Adam(net.parameters(), lr=budget.lr, betas=(budget.beta1, budget.beta2))
    b = budget.batch_size
    for _ in range(budget.steps):
        xr = real_x[torch.randint(len(real_x), (b,), generator=generator)]
        xg = fake_x[torch.randint(len(fake_x), (b,), generator=generator)]
        eps = torch.rand(b, generator=generator)
        loss = net(xg).mean() - net(xr).mean() + budget.gp_weight * gradient_penalty(net, xr, xg, eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return net.eval()


@torch.no_grad()
def critic_distance(net: nn.Module, real_x: torch.Tensor, fake_x: torch.Tensor, batch_size: int = 500) -> float:
    """E[D(real)] - E[D(fake)] over two held-out sets."""
    def mean(x):
        return torch.cat([net(x[i: i + batch_size]).flatten() for i in range(0, len(x), batch_size)]).double().mean()

    return float(mean(real_x) - mean(fake_x))


@register_metric("critic", "independent Wasserstein critic (alpha-GAN paper): WGAN-GP critic trained on "
                 "training images vs samples, E D(test) - E D(fresh samples) (lower is better)",
                 "sample quality", {"critic": LOWER, "critic_other": LOWER},
                 settings={"n_samples": N_SAMPLES, "critic_steps": CriticBudget.steps})
def critic_metric(ctx: EvalContext) -> dict:
    budget = CriticBudget(steps=ctx.config.critic_steps)
    size = ctx.sample_size()
    n = size.n
    pool = ctx.data(size.other).x.cpu()  # the critic's real examples, then two stand-in "models"
    order = torch.randperm(len(pool), generator=cpu_generator(ctx.seed + CRITIC_SEED))
    m = min(n, len(pool) // 3)
    held_out = ctx.real(size.split, n)
    x_train, x_stand_in, x_stand_in_fresh = (pool[order[i * m: (i + 1) * m]] for i in range(3))
    x_unseen = pool[order[3 * m: 4 * m]]  # more of the other split, unseen by the real-versus-real critic

    net = train_critic(x_train, ctx.samples(n), budget, cpu_generator(ctx.seed + CRITIC_SEED))
    fresh = ctx.samples(n, FRESH_SAMPLES_SEED)
    value = critic_distance(net, held_out, fresh)
    value_other = critic_distance(net, x_stand_in, fresh)  # images of the other split the critic never saw
    net = train_critic(x_train, x_stand_in, budget, cpu_generator(ctx.seed + CRITIC_SEED))
    value_real = critic_distance(net, held_out, x_stand_in_fresh)
    other = {"critic_other": value_other}
    if len(x_unseen):
        other["critic_other_real"] = critic_distance(net, x_unseen, x_stand_in_fresh)
    return {
        "critic": value,
        "critic_real": value_real,
        **other,
        "settings": {
            "n_real": n, "n_fake": n, "reference_split": size.split, "critic_train_split": size.other,
            "n_critic_train": m, "real_vs_real": f"{size.other} images stand in for the model (N={m})",
            **{f"critic_{k}": v for k, v in asdict(budget).items()},
        },
    }

"""f-divergences for the f-GAN (Nowozin, Cseke & Tomioka 2016, "f-GAN", Tables 1 and 6), as pure functions.

An f-divergence D_f(P || Q) = E_Q[f(p(x) / q(x))] with f convex and f(1) = 0 has the variational lower bound
(eq. 4 of the paper)

    D_f(P || Q) >= sup_T  E_P[T(x)] - E_Q[f*(T(x))],     f*(t) = sup_u (u t - f(u))   (Fenchel conjugate)

and the critic T = g_f(V) is a network V with an output activation g_f that keeps T in the domain of f*.
``table`` below is the one place where (f, g_f, f*) are written down, row by row as in the paper; rows
with a parameter (alpha, pi) read it from their arguments. P is the data, Q the model: ``kl`` is the
forward, mode-covering KL(P || Q) and ``reverse-kl`` the mode-seeking KL(Q || P).

Notes on the paper's table:
- ``js``: with the paper's f, D_f = 2 JS(P || Q) (the table's 1/2 in front of JS is not in f); the
  properly scaled JS is ``weighted-js`` with pi = 1/2, whose f is exactly half of it.
- ``gan``: the paper's f(u) = u log u - (u + 1) log(u + 1) has f(1) = -log 4 and D_f = 2 JS - log 4, the
  value of the GAN game at the optimal discriminator. Here f and f* are shifted by log 4 so that f(1) = 0
  (D_f = 2 JS); the shift is a constant, so the critic and the generator get the same gradients.
- ``alpha``: alpha not in {0, 1} (the limits are reverse KL and KL). The paper's activation keeps
  t < 1 / (1 - alpha), the domain of f* when alpha < 1; when alpha > 1 the domain is t > 1 / (1 - alpha)
  and the activation here is 1 / (1 - alpha) + softplus(v) instead.
- ``jeffrey``: f* needs the Lambert W function, computed by Newton's method (``lambert_w_exp``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import torch

Fn = Callable[["torch.Tensor"], "torch.Tensor"]


@dataclass(frozen=True)
class FDivergence:
    name: str
    f: Fn  # the generator function on u = p/q > 0: convex, f(1) = 0
    activation: Fn  # g_f: V's real output -> the domain of f*
    conjugate: Fn  # f*(t) = sup_u (u t - f(u)) on the range of g_f


def lambert_w_exp(s: torch.Tensor, iters: int = 30) -> torch.Tensor:
    """W(exp(s)): the w > 0 with w + log w = s. Newton's method on y = log w (convex, so it converges from
    any start) without gradients, then one Newton step with them, whose derivative is the implicit one,
    dw/ds = w / (1 + w)."""
    import torch

    with torch.no_grad():
        y = torch.where(s < 1, s, torch.log(s.clamp_min(1.0)))
        for _ in range(iters):
            y = y - (y.exp() + y - s) / (y.exp() + 1)
    y = y - (y.exp() + y - s) / (y.exp() + 1)
    return y.exp()


def _xlogx(u: torch.Tensor) -> torch.Tensor:
    import torch

    return torch.xlogy(u, u)


def table(alpha: float = 0.5, pi: float = 0.5) -> dict[str, tuple[Fn, Fn, Fn]]:
    """The f-GAN table: name -> (f, g_f, f*), with the alpha-divergence's alpha and weighted JS's pi."""
    import torch
    import torch.nn.functional as F

    a, p = alpha, pi
    log2, log4 = math.log(2.0), math.log(4.0)
    alpha_act: Fn = ((lambda v: 1 / (1 - a) - F.softplus(-v)) if a < 1 else (lambda v: 1 / (1 - a) + F.softplus(v)))
    #        name                f(u)                                                  g_f(v)                                  f*(t)
    return {
        "total-variation": (lambda u: 0.5 * (u - 1).abs(),                        lambda v: 0.5 * torch.tanh(v),          lambda t: t),
        "kl":              (lambda u: _xlogx(u),                                  lambda v: v,                            lambda t: torch.exp(t - 1)),
        "reverse-kl":      (lambda u: -torch.log(u),                              lambda v: -torch.exp(-v),               lambda t: -1 - torch.log(-t)),
        "pearson":         (lambda u: (u - 1) ** 2,                               lambda v: v,                            lambda t: t ** 2 / 4 + t),
        "neyman":          (lambda u: (1 - u) ** 2 / u,                           lambda v: 1 - torch.exp(-v),            lambda t: 2 - 2 * torch.sqrt(1 - t)),
        "hellinger":       (lambda u: (torch.sqrt(u) - 1) ** 2,                   lambda v: 1 - torch.exp(-v),            lambda t: t / (1 - t)),
        "jeffrey":         (lambda u: (u - 1) * torch.log(u),                     lambda v: v,                            lambda t: _jeffrey_conjugate(t)),
        "js":              (lambda u: -(u + 1) * torch.log((1 + u) / 2) + _xlogx(u), lambda v: log2 - F.softplus(-v),     lambda t: -torch.log(2 - torch.exp(t))),
        "weighted-js":     (lambda u: p * _xlogx(u) - _xlogx(1 - p + p * u),      lambda v: -p * math.log(p) - F.softplus(-v),
                            lambda t: (1 - p) * torch.log((1 - p) / (1 - p * torch.exp(t / p)))),
        "gan":             (lambda u: _xlogx(u) - _xlogx(u + 1) + log4,           lambda v: -F.softplus(-v),              lambda t: -torch.log(1 - torch.exp(t)) - log4),
        "alpha":           (lambda u: (u ** a - 1 - a * (u - 1)) / (a * (a - 1)), alpha_act,
                            lambda t: (t * (a - 1) + 1) ** (a / (a - 1)) / a - 1 / a),
    }  # fmt: skip


def divergence(name: str, alpha: float = 0.5, pi: float = 0.5) -> FDivergence:
    """The row `name` of the table as an FDivergence."""
    f, g, conj = table(alpha, pi)[name]
    return FDivergence(name, f, g, conj)


def _jeffrey_conjugate(t: torch.Tensor) -> torch.Tensor:
    w = lambert_w_exp(1 - t)
    return w + 1 / w + t - 2


# the table's rows, in its order, written out so that the command line lists them without importing torch
NAMES = ("total-variation", "kl", "reverse-kl", "pearson", "neyman", "hellinger", "jeffrey", "js", "weighted-js", "gan",
         "alpha")


def variational_bound(div: FDivergence, v_data: torch.Tensor, v_model: torch.Tensor) -> torch.Tensor:
    """E_P[g_f(V(x))] - E_Q[f*(g_f(V(x)))] from the critic's raw outputs on data (P) and model (Q) samples:
    a lower bound on D_f(P || Q) that the critic maximizes and the generator minimizes (eq. 6)."""
    v_data, v_model = v_data.float(), v_model.float()  # float32 under mixed precision
    return div.activation(v_data).mean() - div.conjugate(div.activation(v_model)).mean()

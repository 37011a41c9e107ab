"""Known answers for the f-GAN table (genlab.divergences): f(1) = 0, convexity, the Fenchel conjugate against
a numerical supremum, and a critic trained between two 1-D Gaussians recovering the divergence."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from genlab.divergences import NAMES, divergence, lambert_w_exp, table, variational_bound

# every row, the parametrized ones at several parameter values
ROWS = [(n, {}) for n in NAMES if n not in ("alpha", "weighted-js")] + [
    ("alpha", {"alpha": 0.5}), ("alpha", {"alpha": -1.0}), ("alpha", {"alpha": 2.0}), ("alpha", {"alpha": 3.0}),
    ("weighted-js", {"pi": 0.5}), ("weighted-js", {"pi": 0.3}), ("weighted-js", {"pi": 0.8}),
]
IDS = [f"{n}{''.join(f'-{k}={v}' for k, v in kw.items())}" for n, kw in ROWS]


def test_names_are_the_tables_rows_in_its_order():
    assert NAMES == tuple(table()) == tuple(table(alpha=2.0, pi=0.3))


@pytest.mark.parametrize("name,kw", ROWS, ids=IDS)
def test_f_is_zero_at_one_and_convex(name, kw):
    div = divergence(name, **kw)
    assert abs(div.f(torch.tensor(1.0, dtype=torch.float64)).item()) < 1e-12
    u = torch.linspace(0.01, 20, 4001, dtype=torch.float64)
    fu = div.f(u)
    second = fu[2:] - 2 * fu[1:-1] + fu[:-2]  # uniform grid: second differences of a convex f are >= 0
    assert (second >= -1e-12).all(), f"{name}: f is not convex near u = {u[1:-1][second < -1e-12][:3].tolist()}"
    assert second.max() > 0  # and not linear


@pytest.mark.parametrize("name,kw", ROWS, ids=IDS)
def test_conjugate_equals_the_numerical_supremum_and_its_slope_is_the_maximizer(name, kw):
    div = divergence(name, **kw)
    # values the critic can output (for pearson, t > -2 where the maximizing u = 1 + t/2 is positive)
    v = torch.linspace(-1.5, 1.5, 21, dtype=torch.float64)
    t = div.activation(v).requires_grad_()
    conj = div.conjugate(t)
    (slope,) = torch.autograd.grad(conj.sum(), t)
    u = torch.logspace(-6, 4, 200_001, dtype=torch.float64)
    fu = div.f(u)
    for i in range(len(v)):
        objective = u * t[i].detach() - fu  # (U,)
        best = objective.argmax()
        assert 0 < best < len(u) - 1, f"{name}: the supremum at t = {t[i].item():.3f} is not inside the grid"
        torch.testing.assert_close(conj[i].detach(), objective[best], rtol=1e-6, atol=1e-6)
        # d f*/dt is the maximizing u (Danskin): checks the gradients, the Lambert-W ones included
        torch.testing.assert_close(slope[i], u[best], rtol=2e-3, atol=1e-6)


def test_lambert_w_matches_scipy_and_has_the_implicit_derivative():
    from scipy.special import lambertw

    s = torch.tensor([-20.0, -3.0, -0.5, 0.0, 1.0, 2.5, 10.0, 50.0], dtype=torch.float64, requires_grad=True)
    w = lambert_w_exp(s)
    expected = np.real(lambertw(np.exp(s.detach().numpy())))
    np.testing.assert_allclose(w.detach().numpy(), expected, rtol=1e-12, atol=1e-300)
    (grad,) = torch.autograd.grad(w.sum(), s)
    torch.testing.assert_close(grad, w.detach() / (1 + w.detach()), rtol=1e-10, atol=0)


def test_jensen_shannon_rows_agree():
    """js (the paper's f) is twice weighted-js at pi = 1/2; gan's f differs from js's by (u - 1) log 2, which
    integrates to 0 under Q: the same divergence, 2 JS."""
    u = torch.logspace(-3, 3, 101, dtype=torch.float64)
    js, wjs, gan = divergence("js").f(u), divergence("weighted-js", pi=0.5).f(u), divergence("gan").f(u)
    torch.testing.assert_close(js, 2 * wjs)
    torch.testing.assert_close(gan - js, (1 - u) * math.log(2))


# ----------------------------------------------------------------------------------------------------
# a critic trained between two fixed 1-D Gaussians recovers D_f(P || Q)

P, Q = (0.0, 1.0), (1.0, 1.5)  # (mean, std) of the data P and the model Q


def normal_pdf(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def integrated_divergence(name: str) -> float:
    """D_f(P || Q) = integral of q f(p/q), by the trapezoid rule on a wide fine grid."""
    x = np.linspace(-15, 17, 200_001)
    p, q = normal_pdf(x, *P), normal_pdf(x, *Q)
    fx = divergence(name).f(torch.from_numpy(p / q)).numpy()
    return float(np.trapezoid(q * fx, x))


def gaussian_kl(a: tuple[float, float], b: tuple[float, float]) -> float:
    (m1, s1), (m2, s2) = a, b
    return math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


def test_integration_agrees_with_the_closed_form_kl():
    assert integrated_divergence("kl") == pytest.approx(gaussian_kl(P, Q), rel=1e-6)
    assert integrated_divergence("reverse-kl") == pytest.approx(gaussian_kl(Q, P), rel=1e-6)


@pytest.fixture
def one_thread():
    """Tiny tensors: one thread is faster, and much faster on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["kl", "reverse-kl", "js", "hellinger"])
def test_a_trained_critic_recovers_the_divergence_between_two_gaussians(name, one_thread):
    torch.manual_seed(0)
    div = divergence(name)
    critic = torch.nn.Sequential(torch.nn.Linear(1, 32), torch.nn.ELU(), torch.nn.Linear(32, 32), torch.nn.ELU(),
                                 torch.nn.Linear(32, 1))
    opt = torch.optim.Adam(critic.parameters(), lr=5e-3)

    def draw(n):
        return torch.randn(n, 1) * P[1] + P[0], torch.randn(n, 1) * Q[1] + Q[0]

    for _ in range(400):
        xp, xq = draw(1024)
        loss = -variational_bound(div, critic(xp), critic(xq))  # the critic ascends the bound
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        xp, xq = draw(200_000)
        estimate = variational_bound(div, critic(xp), critic(xq)).item()
    truth = {"kl": gaussian_kl(P, Q), "reverse-kl": gaussian_kl(Q, P)}.get(name) or integrated_divergence(name)
    assert truth > 0.05  # the two Gaussians are far enough apart for the test to mean something
    assert estimate == pytest.approx(truth, rel=0.10), f"{name}: critic {estimate:.4f}, true {truth:.4f}"

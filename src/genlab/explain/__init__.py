"""`genlab explain NAME --out DIR`: the teaching figures of the lectures genlab is built from, each a small
computation with a known answer that writes one PNG and prints its numbers in under a minute on a CPU.

- ``gan-1d``: Goodfellow et al.'s 1-D picture of GAN training: data density, generator density and D(x).
- ``divergences``: the best single Gaussian for a mixture under each f-divergence (forward KL covers,
  reverse KL seeks a mode).
- ``importance-sampling``: log p(x) estimated by sampling the prior against sampling an encoder's q.
- ``gradients``: score-function (REINFORCE) against reparameterized gradients of the ELBO.
- ``iwae-bound``: the IWAE bound rising with K toward log p(x).

Each is a registered ``Explainer`` (a module of this package; importing ``explain.catalog`` registers them
all, this package does not import them: they import it); the exact answers come from the linear
Gaussian model in ``linear_gaussian.py``, where log p(x), the posterior and the ELBO are closed-form.
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

from ..registry import Registry


@dataclass
class Explainer:
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], dict]  # writes the figure under args.out, prints and returns the numbers


EXPLAINERS: Registry = Registry("explainer")


def common_arguments(p: argparse.ArgumentParser, seed: bool = True) -> None:
    p.add_argument("--out", default="explain", help="folder for the figure (default: explain)")
    if seed:
        p.add_argument("--seed", type=int, default=0, help="the random draws' seed (default 0)")


def repeats_argument(p: argparse.ArgumentParser, default: int, what: str) -> None:
    def at_least_two(text: str) -> int:
        if not text.isdigit() or int(text) < 2:
            raise argparse.ArgumentTypeError(f"must be a whole number of at least 2, got {text!r}")
        return int(text)

    p.add_argument("--repeats", type=at_least_two, default=default, help=f"{what} (default {default})")


@contextmanager
def one_thread():
    """Compute on one CPU thread (also as a decorator): on small tensors more threads only wait for each other
    (measured on a busy 2-core machine: 7 times the CPU time for the same divergence fits)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)

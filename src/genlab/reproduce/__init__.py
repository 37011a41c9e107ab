"""`genlab reproduce NAME`: one command per classic table, each a registered ``Reproduction``.

A reproduction adds its own command-line options, trains its grid of runs into an output folder (one
run directory each, so that every run can be sampled, evaluated and resumed on its own), and writes its
table as markdown and CSV beside the published values.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable

from ..registry import Registry


@dataclass
class Reproduction:
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


REPRODUCTIONS: Registry = Registry("reproduction")


def load_all() -> None:
    """Import the built-in reproductions (registration)."""
    from . import iwae_table  # noqa: F401
    from . import mode_collapse  # noqa: F401

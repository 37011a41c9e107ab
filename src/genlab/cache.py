"""genlab's cache folder, shared by every run and every install: downloads, derived arrays, evaluator
classifiers, real-data features, data fingerprints and the listings of `genlab models` and `genlab metrics`.

A module of its own (standard library only), so that the command line finds it without loading the data layer.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """genlab's cache folder: ``$GENLAB_CACHE``, ``$XDG_CACHE_HOME/genlab`` or ``~/.cache/genlab``."""
    if os.environ.get("GENLAB_CACHE"):
        return Path(os.environ["GENLAB_CACHE"]).expanduser().absolute()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser().absolute() / "genlab"
    return Path.home() / ".cache" / "genlab"

"""genlab: train, evaluate, compare and explain the classic deep generative models.

From Python (``genlab.runs``): ``run = genlab.train("vae", dataset="digits", epochs=2, latent_dim=8)``,
``run.sample(64)``, ``run.evaluate(["fid"])``, ``genlab.open_run(DIR)``. The names are imported when first used,
so that ``import genlab`` (and the command line) starts without loading PyTorch.
"""

__version__ = "0.1.0"

_LAZY = {"train": "runs", "open_run": "runs", "Run": "runs"}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'genlab' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY])


__all__ = ["__version__", "train", "open_run", "Run"]

"""genlab: train, evaluate, compare and explain the classic deep generative models."""

__version__ = "0.1.0"

"""Datasets by name. Importing this package registers every built-in dataset."""

from . import celeba, images, toy  # noqa: F401  (registration)
from . import color, pairs  # noqa: F401  (registration; built from the datasets above)
from .base import ArrayData, Batch, BatchStream, DataInfo, DatasetSpec, TensorData, load_data

__all__ = ["ArrayData", "Batch", "BatchStream", "DataInfo", "DatasetSpec", "TensorData", "load_data"]

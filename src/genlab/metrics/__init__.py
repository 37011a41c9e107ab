"""Evaluation metrics. Importing this package registers every built-in metric in ``base.METRICS``."""

from . import likelihood  # noqa: F401
from . import codes, critic, sample_quality, ssim  # noqa: F401
from . import modes  # noqa: F401
from . import reconstruction  # noqa: F401

"""Evaluation metrics. Importing this package registers every built-in metric in ``base.METRICS``, in the order
tables show them within their kind."""

from . import likelihood  # noqa: F401
from . import sample_quality, critic, ssim  # noqa: F401
from . import modes  # noqa: F401
from . import reconstruction  # noqa: F401
from . import codes  # noqa: F401

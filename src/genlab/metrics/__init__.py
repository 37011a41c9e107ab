"""Evaluation metrics. Importing this package registers every built-in metric with ``genlab.evaluate``."""

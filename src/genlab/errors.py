"""Errors a user can cause and fix. The CLI prints their message without a traceback."""


class GenlabError(Exception):
    """A problem with the user's input or environment; the message says what and how to fix it."""

    exit_code = 2


class ConfigError(GenlabError):
    """A bad option, override key or value."""


class DataError(GenlabError):
    """Data that is missing, truncated or in the wrong format."""


class RunDirError(GenlabError):
    """A run directory that cannot be used (exists, is missing, or is incomplete)."""


class NonFiniteLossError(GenlabError):
    """Training produced a NaN or infinite loss; the last good checkpoint is kept."""

    exit_code = 3

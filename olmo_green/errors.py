"""The few error classes of olmo-green.

A GreenError is a user's mistake or an environment problem that the user can
fix: the CLI prints its message on one line and exits with code 2, without a
traceback. Messages say what is wrong and how to fix it. Vendor and library
errors are translated once, at the boundary, with ``raise ... from e``.
"""


class GreenError(Exception):
    """Base class: one line for the user, exit code 2."""

    exit_code = 2


class ConfigError(GreenError):
    """A bad option, profile, preset or configuration value."""


class InputFileError(GreenError):
    """A missing or malformed input file (trace, data, checkpoint, intensity series)."""


class SensorError(GreenError):
    """A sensor source cannot be opened or read."""


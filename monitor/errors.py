"""The two kinds of failure the command line tells apart: bad input (exit 2) and operations (exit 1)."""


class ExowatchError(Exception):
    """An operational failure: the store is unreachable, not initialised, a source failed."""

    exit_code = 1


class InputError(ExowatchError):
    """Input that the user gave us is wrong: a config key, a file, a row. Nothing was written."""

    exit_code = 2


class ConfigError(InputError):
    """The configuration file or an EXOWATCH_* variable is wrong."""

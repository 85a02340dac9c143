"""CLI errors. Each one becomes a single line on stderr and an exit code, never a traceback."""

from __future__ import annotations


class CliError(Exception):
    """Base class: `message` is printed as one line, `exit_code` is returned."""

    exit_code = 2


class UsageError(CliError):
    """Bad arguments, a missing or malformed file, an unknown operation: exit 2."""


class TargetUnreachable(CliError):
    """The endpoint (or the embedded emulator) could not be reached or started: exit 2."""

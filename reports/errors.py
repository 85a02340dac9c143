"""Errors of the reports room. The CLI turns each into one line on stderr and exit code 2."""

from __future__ import annotations


class ReportInputError(Exception):
    """Bad input the user must fix: no such folder, a malformed thresholds file, a bad rule."""

"""What the capacity room refuses. Each error's message is one line a user can act on; the
command that drives the room decides what it means for the process (the CLI: exit 2)."""

from __future__ import annotations


class CapacityError(Exception):
    """Base class of every refusal of the capacity room."""


class BadSettings(CapacityError):
    """A profile's `[capacity]` table (or an override of it) is missing, unreadable or invalid."""


class BadSlo(CapacityError):
    """A latency objective that is not of the form `p95_ms<=500`."""

"""Rate limits, concurrency limits and the queue rule of an emulated endpoint.

Pure and clock-driven: every decision takes `now` from the caller, nothing here imports aiohttp.
`gate.LimitGate` is the emulator's `RequestGate`; `config` holds the documented table and the
`[endpoint.limits]` schema; `algorithms` the sliding window, fixed window and token bucket (GCRA).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator.limiting import OPERATIONS
from emulator.limits.admission import Held, LimitExceeded, Rejection, Unlimited
from emulator.limits.config import DOCUMENTED, LimitsConfigError, parse_limits
from emulator.limits.errors import LimitHit
from emulator.limits.gate import LimitGate, QueueView

__all__ = [
    "DOCUMENTED",
    "OPERATIONS",
    "Held",
    "LimitHit",
    "LimitExceeded",
    "LimitGate",
    "LimitsConfigError",
    "QueueView",
    "Rejection",
    "Unlimited",
    "build_gate",
    "parse_limits",
    "validate_limits",
]


def build_gate(limits_by_endpoint: Mapping[str, Mapping[str, Any]], queues: QueueView | None) -> LimitGate:
    """The gate `emulator.limiting.build_gate` plugs in: 429s are `LimitHit` (a `RateLimited`)."""
    return LimitGate(limits_by_endpoint, queue_view=queues, rejection=LimitHit)


def validate_limits(limits: Mapping[str, Any] | None) -> None:
    """Raise `LimitsConfigError` (a ValueError naming the key) if `limits` is not a valid table."""
    parse_limits(limits)

"""Rate limits, concurrency limits and the queue rule of an emulated endpoint.

Pure and clock-driven: every decision takes `now` from the caller, nothing here imports aiohttp.
`protocols` declares what the request path asks of a gate; `gate.LimitGate` is the emulator's gate
and `no_limits.NoLimits` the one of `--rate-limits off`; `config` holds the documented table and
the `[endpoint.limits]` schema; `algorithms` the sliding window, fixed window and token bucket (GCRA).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from emulator.limits.admission import Held, LimitExceeded, Rejection, Unlimited
from emulator.limits.config import DOCUMENTED, LimitsConfigError, parse_limits
from emulator.limits.errors import LimitHit
from emulator.limits.gate import LimitGate
from emulator.limits.no_limits import NoLimits, no_limits
from emulator.limits.protocols import Admission, GateFactory, QueueView, RequestGate

__all__ = [
    "DOCUMENTED",
    "Admission",
    "GateFactory",
    "Held",
    "LimitExceeded",
    "LimitGate",
    "LimitHit",
    "LimitsConfigError",
    "NoLimits",
    "QueueView",
    "Rejection",
    "RequestGate",
    "Unlimited",
    "build_gate",
    "no_limits",
    "parse_limits",
    "validate_limits",
]


def build_gate(limits_by_endpoint: Mapping[str, Mapping[str, Any]], queues: QueueView | None) -> LimitGate:
    """The emulator's `GateFactory` with limits on: 429s are `LimitHit` (a `RateLimited`)."""
    return LimitGate(limits_by_endpoint, queue_view=queues, rejection=LimitHit)


def validate_limits(limits: Mapping[str, Any] | None) -> None:
    """Raise `LimitsConfigError` (a ValueError naming the key) if `limits` is not a valid table."""
    parse_limits(limits)

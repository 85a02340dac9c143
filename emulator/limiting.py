"""The seam for rate limits: the request path asks a `RequestGate` before reading any body.

Order of checks on every `/v2/...` request: auth (401) → route and endpoint (404/405) →
`gate.admit(endpoint_id, operation, now)` (429) → fault injection → body (400) → handler.
An admitted request holds its `Admission` until the reply is sent, the client disconnects, or a
held long-poll (runsync, status-sync, stream, openai) ends; `release()` is then called exactly once.

The rate-limit room (`emulator/limits/`) replaces `build_gate`; this module only defines the
contract and the no-op gate used with `--rate-limits off`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

OPERATIONS = (
    "run",
    "runsync",
    "status",
    "status_sync",
    "stream",
    "cancel",
    "retry",
    "purge_queue",
    "health",
    "requests",
    "openai",
)


class Admission(Protocol):
    def release(self) -> None:
        """Called once when the admitted request is finished (whatever the outcome)."""
        ...


class RequestGate(Protocol):
    def admit(self, endpoint_id: str, operation: str, now: float) -> Admission:
        """Accept (returning an Admission) or raise `emulator.errors.RateLimited`."""
        ...


class QueueView(Protocol):
    """What a queue-size rule needs to know about an endpoint, read-only."""

    def queue_length(self, endpoint_id: str) -> int: ...

    def workers_max(self, endpoint_id: str) -> int: ...

    def running_workers(self, endpoint_id: str) -> int: ...


class _Admitted:
    __slots__ = ()

    def release(self) -> None:
        return None


ADMITTED: Admission = _Admitted()


class NoLimits:
    """Admits everything (`--rate-limits off`, and the default until a real gate is plugged in)."""

    def admit(self, endpoint_id: str, operation: str, now: float) -> Admission:
        return ADMITTED


GateFactory = Callable[[Mapping[str, Mapping[str, Any]], QueueView], RequestGate]


def build_gate(limits_by_endpoint: Mapping[str, Mapping[str, Any]], queues: QueueView) -> RequestGate:
    """The gate for these endpoints; `limits_by_endpoint[id]` is the `[endpoint.limits]` table, untouched.

    Called again after a PATCH that changes `limits` or after a reset, so a gate may keep no state
    that must survive those.
    """
    try:
        from emulator.limits import build_gate as build_limits_gate
    except ImportError:
        return NoLimits()
    gate: RequestGate = build_limits_gate(limits_by_endpoint, queues)
    return gate

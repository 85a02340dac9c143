"""What the request path asks of a rate-limit gate, declared once.

Order of checks on every `/v2/...` request: auth (401) → route and endpoint (404/405) →
`gate.admit(endpoint_id, operation, now)` (429) → fault injection → body (400) → handler.
An admitted request holds its `Admission` until the reply is sent, the client disconnects, or a
held long-poll (runsync, status-sync, stream, openai) ends; `release()` is then called exactly once.

`emulator.app.create_app` is handed a `GateFactory` (the limits of `emulator.limits`, or
`NoLimits` with `--rate-limits off`) and calls it again after a reset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol


class Admission(Protocol):
    @property
    def headers(self) -> Mapping[str, str]:
        """Extra reply headers (the IETF RateLimit fields when on; empty otherwise)."""
        ...

    def release(self) -> None:
        """Called once when the admitted request is finished (whatever the outcome)."""
        ...


class QueueView(Protocol):
    """What the queue rule and the dynamic limit read from the job store (read-only)."""

    def queue_length(self, endpoint_id: str) -> int: ...

    def workers_max(self, endpoint_id: str) -> int: ...

    def running_workers(self, endpoint_id: str) -> int: ...


class RequestGate(Protocol):
    def admit(self, endpoint_id: str, operation: str, now: float) -> Admission:
        """Accept (returning an Admission) or raise `emulator.errors.RateLimited`."""
        ...

    def configure(self, endpoint_id: str, limits: Mapping[str, Any] | None) -> None:
        """Apply an endpoint's `limits` table at run time, keeping what is in flight.

        Raises a ValueError naming the bad key (`limits.run.rate: ...`)."""
        ...

    def describe(self, endpoint_id: str, *, with_accepts: bool = False) -> dict[str, Any]:
        """The endpoint's effective limits and counters (the control API's `.../limits`)."""
        ...


# `limits_by_endpoint[id]` is the endpoint's `[endpoint.limits]` table, untouched. Called again
# after a reset, so a gate keeps no state that must survive one.
GateFactory = Callable[[Mapping[str, Mapping[str, Any]], QueueView], RequestGate]

"""What the gate hands back: an accepted request's ticket, or the description of a rejection.

A ticket holds one place of a concurrency budget until `release()`; releasing twice (completion
and then client disconnect, say) frees the place once. Requests on a budget without a concurrency
limit share one stateless ticket, so they cost no allocation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

RejectionKind = Literal["rate", "concurrency", "queue"]
NO_HEADERS: dict[str, str] = {}


class InFlight:
    """Requests of one budget in flight now (shared by the operations of a shared budget)."""

    __slots__ = ("count", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.count = 0


class Unlimited:
    """Ticket of a request that holds no concurrency place."""

    __slots__ = ("headers",)

    def __init__(self, headers: dict[str, str] = NO_HEADERS) -> None:
        self.headers = headers

    def release(self) -> None:
        return None


UNLIMITED = Unlimited()


class Held:
    """Ticket holding one place of `in_flight` until released (idempotent)."""

    __slots__ = ("_in_flight", "headers")

    def __init__(self, in_flight: InFlight, headers: dict[str, str] = NO_HEADERS) -> None:
        self._in_flight: InFlight | None = in_flight
        self.headers = headers

    def release(self) -> None:
        if self._in_flight is not None:
            self._in_flight.count -= 1
            self._in_flight = None

    @property
    def released(self) -> bool:
        return self._in_flight is None


@dataclass(frozen=True)
class Rejection:
    """Which limit a request hit and when the same request would be accepted."""

    operation: str
    budget: str
    kind: RejectionKind
    limit: int
    window_s: float | None
    retry_after: int
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        if self.kind == "rate":
            what = f"rate limit of {self.limit} requests per {self.window_s:g} s"
        elif self.kind == "concurrency":
            what = f"concurrency limit of {self.limit} requests in flight"
        else:
            what = f"queue limit: the queue holds more than {self.limit} jobs"
        shared = "" if self.budget in (self.operation, "queue") else f" (budget shared with /{self.budget})"
        return f"Too many requests: /{self.operation} {what}{shared}; retry after {self.retry_after} s"

    def body(self) -> dict[str, Any]:
        return {
            "error": self.message,
            "limit": {
                "kind": self.kind,
                "operation": self.operation,
                "budget": self.budget,
                "limit": self.limit,
                "window_s": self.window_s,
            },
            "retry_after": self.retry_after,
        }


class LimitExceeded(Exception):
    """Raised by the gate when no error class is plugged in (standalone use and unit tests)."""

    status = 429

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(rejection.message)
        self.rejection = rejection

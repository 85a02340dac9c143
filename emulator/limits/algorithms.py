"""Rate-limit algorithms, each exactly as its definition, driven by a `now` passed in.

Every algorithm answers `try_acquire(now)`: 0.0 means accepted (and counted); a positive value is
the exact number of seconds after which the same request would be accepted. Rejected requests
are never counted. `resize(limit, window_s)` changes the limit at run time (control API, dynamic
per-worker limit) without forgetting what was already accepted. `state(now)` gives what the IETF
RateLimit header reports: the remaining quota and the seconds until it is whole again.

- `SlidingWindow`: never more than `limit` accepted in any half-open span of `window_s` seconds.
  The accept times of the last window live in a deque (expired ones are dropped from the left), so
  a request is accepted iff fewer than `limit` are held: amortised O(1) per request, exact, memory
  bounded by min(limit, accepts per window), and a changed limit (dynamic limit, control API)
  applies at once with no rebuild.
- `FixedWindow`: at most `limit` per window; windows are aligned to multiples of `window_s` on
  the clock's scale, and the count resets at each boundary (so 2x limit can pass around one).
- `TokenBucket`: GCRA, the exact form of a bucket of `burst` tokens refilled at `limit` per
  `window_s` (one token every `window_s / limit` seconds), starting full.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Protocol

# Float slack for comparisons of clock values (accept times are sums of floats).
EPSILON = 1e-9


class RateAlgorithm(Protocol):
    limit: int
    window_s: float

    def try_acquire(self, now: float) -> float: ...

    def resize(self, limit: int, window_s: float) -> None: ...

    def state(self, now: float) -> tuple[int, float]:
        """(remaining requests now, seconds until the full quota is available again)."""
        ...


class SlidingWindow:
    __slots__ = ("_log", "limit", "window_s")

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._log: deque[float] = deque()  # accept times still inside the window, oldest first

    def _expire(self, now: float) -> None:
        # An accept at `a` leaves the window at a + window_s (spans are half-open).
        log, cutoff = self._log, now - self.window_s + EPSILON
        while log and log[0] <= cutoff:
            log.popleft()

    def try_acquire(self, now: float) -> float:
        self._expire(now)
        log = self._log
        held = len(log)
        if held < self.limit:
            log.append(now)
            return 0.0
        # Accepted again once the limit-th most recent accept leaves the window.
        return log[held - self.limit] + self.window_s - now

    def recent(self) -> list[float]:
        """The accept times inside the window as of the last call, oldest first."""
        return list(self._log)

    def resize(self, limit: int, window_s: float) -> None:
        """O(1): the log holds every accept of the last window whatever the limit was."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.window_s = window_s

    def state(self, now: float) -> tuple[int, float]:
        self._expire(now)
        if not self._log:
            return self.limit, 0.0
        return max(0, self.limit - len(self._log)), self._log[-1] + self.window_s - now


class FixedWindow:
    __slots__ = ("_count", "_window_index", "limit", "window_s")

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._window_index = -1
        self._count = 0

    def _roll(self, now: float) -> None:
        index = math.floor(now / self.window_s)
        if index != self._window_index:
            self._window_index = index
            self._count = 0

    def try_acquire(self, now: float) -> float:
        self._roll(now)
        if self._count < self.limit:
            self._count += 1
            return 0.0
        return (self._window_index + 1) * self.window_s - now

    def resize(self, limit: int, window_s: float) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if window_s != self.window_s:
            self._window_index = -1
            self._count = 0
        self.limit = limit
        self.window_s = window_s

    def state(self, now: float) -> tuple[int, float]:
        self._roll(now)
        reset = (self._window_index + 1) * self.window_s - now if self._count else 0.0
        return max(0, self.limit - self._count), reset


class TokenBucket:
    """GCRA: `_tat` is the theoretical arrival time; the bucket is full when `_tat <= now`."""

    __slots__ = ("_interval", "_tat", "_tolerance", "burst", "limit", "window_s")

    def __init__(self, limit: int, window_s: float, burst: int | None = None) -> None:
        self.limit = limit
        self.window_s = window_s
        self.burst = burst if burst is not None else limit
        self._interval = window_s / limit
        self._tolerance = (self.burst - 1) * self._interval
        self._tat = -math.inf

    def try_acquire(self, now: float) -> float:
        tat = self._tat if self._tat > now else now
        wait = tat - self._tolerance - now
        if wait > EPSILON:
            return wait
        self._tat = tat + self._interval
        return 0.0

    def resize(self, limit: int, window_s: float, burst: int | None = None) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.window_s = window_s
        if burst is not None:
            self.burst = burst
        self._interval = window_s / limit
        self._tolerance = (self.burst - 1) * self._interval

    def state(self, now: float) -> tuple[int, float]:
        debt = max(0.0, self._tat - now)  # seconds of refill owed to reach a full bucket
        remaining = self.burst - math.ceil(debt / self._interval - EPSILON)
        return max(0, remaining), debt


ALGORITHMS = ("sliding_window", "fixed_window", "token_bucket")


def make_algorithm(name: str, limit: int, window_s: float, burst: int | None = None) -> RateAlgorithm:
    if name == "sliding_window":
        return SlidingWindow(limit, window_s)
    if name == "fixed_window":
        return FixedWindow(limit, window_s)
    if name == "token_bucket":
        return TokenBucket(limit, window_s, burst)
    raise ValueError(f"unknown algorithm {name!r}; choose one of {', '.join(ALGORITHMS)}")


def retry_after_seconds(wait: float) -> int:
    """`Retry-After` in whole seconds: the earliest whole second at which the wait is over."""
    return max(1, math.ceil(wait - EPSILON))

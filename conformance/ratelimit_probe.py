"""Driving a rate limit: the emulator's limits turned on for one test, bursts, held calls, tallies.

Against the emulator (a control API) a test turns small limits on for its operation and expects
them exactly; against a real target it expects the profile's `[rate_limits]` (default: the
documented table) within `rate_tolerance`. Requests here never wait out a 429 (`retry_429=False`):
the 429 is what they examine.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from conformance.client import ApiClient, ControlClient, Reply
from conformance.profile import Profile
from conformance.ratelimit_profile import RateLimit
from conformance.timekeeper import Announcer, Timekeeper
from conformance.violations import HarnessError

# Small limits for the emulator, so a flood is a handful of requests (the window stays 10 s: the
# clock is manual and does not move while a test sends).
EMULATOR_LIMITS: dict[str, RateLimit] = {
    "run": RateLimit(4, 10.0, 2),
    "runsync": RateLimit(4, 10.0, 2),
    "status": RateLimit(4, 10.0, 2),
    "stream": RateLimit(4, 10.0, 2),
    "cancel": RateLimit(4, 10.0, 2),
    "purge_queue": RateLimit(2, 10.0, None),
}
IN_FLIGHT_WAIT_S = 10.0
"""Real time allowed for held calls to reach the emulator's gate."""
Call = Callable[[], "Reply | None"]


@dataclass(frozen=True)
class Expectation:
    limit: RateLimit
    tolerance: float
    exact: bool
    """True against the emulator: the test set the limit itself, so it must hold to the request."""

    @property
    def accepted_range(self) -> tuple[int, int]:
        rate = self.limit.rate
        return math.floor(rate * (1 - self.tolerance)), math.ceil(rate * (1 + self.tolerance))


def expectation(operation: str, profile: Profile, control: ControlClient | None) -> Expectation:
    if control is not None:
        return Expectation(EMULATOR_LIMITS[operation], 0.0, True)
    return Expectation(profile.rate_limits[operation], profile.rate_tolerance, False)


@contextmanager
def emulator_limits(
    control: ControlClient | None, clock: Timekeeper, table: dict[str, Any]
) -> Iterator[None]:
    """Turn the emulator's limits on with `table` (operation -> RateLimit, or top-level keys) for a block.

    Afterwards the endpoint's `limits` go back to what they were and the clock moves one window on,
    so the accepts of this test do not count against the next one. On a real target nothing is
    configured; the block starts one window after the previous test's requests instead.
    """
    windows = [value.window_s for value in table.values() if isinstance(value, RateLimit)] or [10.0]
    if control is None:
        clock.pass_time(max(windows))
        yield
        return
    before: dict[str, Any] = dict(control.endpoint().get("limits") or {})
    patch: dict[str, Any] = {"enabled": True}
    for key, value in table.items():
        if isinstance(value, RateLimit):
            patch[key] = {
                "rate": value.rate,
                "window_s": value.window_s,
                "concurrency": value.concurrency if value.concurrency is not None else False,
            }
        else:
            patch[key] = value
    control.patch_endpoint({"limits": patch})
    try:
        yield
    finally:
        # an RFC 7396 merge patch: null removes what this test added
        control.patch_endpoint({"limits": {**{key: None for key in patch if key not in before}, **before}})
        clock.pass_time(max(windows))


def quietly(api: ApiClient, method: str, path: str, **kwargs: Any) -> Reply | None:
    """One request that never waits out a 429; None when the target did not answer in time."""
    try:
        return api.send(method, api.url(path), retry_429=False, **kwargs)
    except HarnessError as exc:
        if isinstance(exc.__cause__, requests.Timeout):
            return None
        raise


def status_of(reply: Reply | None) -> int:
    return 0 if reply is None else reply.status


def limiter_accepted(status: int) -> bool:
    """Let through by the limiter: an answer that is neither a 429, a 5xx nor missing."""
    return 0 < status < 500 and status != 429


@dataclass
class Tally:
    replies: list[Reply | None] = field(default_factory=list)
    span_s: float = 0.0

    @property
    def statuses(self) -> list[int]:
        return [status_of(r) for r in self.replies]

    @property
    def accepted(self) -> int:
        return sum(limiter_accepted(s) for s in self.statuses)

    @property
    def refused(self) -> int:
        return self.statuses.count(429)

    @property
    def broken(self) -> list[int]:
        """Answers that are neither acceptance nor 429: 5xx, and 0 for no answer (timeout)."""
        return [s for s in self.statuses if s >= 500 or s == 0]

    def histogram(self) -> dict[str, int]:
        return {("timeout" if s == 0 else str(s)): n for s, n in sorted(Counter(self.statuses).items())}

    def first_refusal(self) -> Reply | None:
        return next((r for r in self.replies if r is not None and r.status == 429), None)


def burst(call: Call, count: int, *, parallel: int = 1) -> Tally:
    """Send `count` calls as fast as the client can, in send order (one thread: exactly in order)."""
    started = time.perf_counter()
    if parallel <= 1:
        replies = [call() for _ in range(count)]
    else:
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            replies = list(pool.map(lambda _: call(), range(count)))
    return Tally(replies, time.perf_counter() - started)


def margin(rate: int) -> int:
    """How many requests past the limit a flood sends: enough to see refusals past any tolerance."""
    return max(3, math.ceil(rate * 0.1))


class Held:
    """A call the server holds open (a long /runsync wait, a /stream long-poll), in its own thread."""

    def __init__(self, call: Call) -> None:
        self.reply: Reply | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call,), daemon=True)
        self._thread.start()

    def _run(self, call: Call) -> None:
        try:
            self.reply = call()
        except BaseException as exc:  # reported by the test, in its own thread
            self.error = exc

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def join(self, timeout_s: float) -> None:
        self._thread.join(timeout_s)


def settle_until(
    clock: Timekeeper, done: Callable[[], bool], *, within_s: float, step_s: float = 0.5
) -> bool:
    """Let target time pass in steps until `done()`; False when `within_s` of target time passed first."""
    moved = 0.0
    deadline = time.perf_counter() + within_s + 30.0
    announcer = Announcer("held calls to return", within_s + 30.0)
    while not done():
        announcer.tick()
        if moved >= within_s or time.perf_counter() > deadline:
            return done()
        if clock.manual:
            clock.pass_time(step_s)
            time.sleep(0.02)  # let the released call's reply arrive
        else:
            time.sleep(step_s)
        moved += step_s
    return True


def wait_in_flight(
    control: ControlClient | None, clock: Timekeeper, budget: str, count: int, *, settle_s: float
) -> None:
    """Until `count` held calls are counted in flight: read from the emulator, or a real pause."""
    if control is None:
        clock.pass_time(settle_s)
        return
    deadline = time.perf_counter() + IN_FLIGHT_WAIT_S
    while True:
        limits = control.call("GET", f"endpoints/{control.endpoint_id}/limits")
        in_flight = limits.get("budgets", {}).get(budget, {}).get("in_flight")
        if in_flight is None:  # the emulator counts nothing in flight (no limit in force): a short pause
            time.sleep(0.2)
            return
        if in_flight == count:
            return
        if time.perf_counter() > deadline:
            raise HarnessError(
                f"{budget}: {in_flight} calls in flight at the emulator, the test needs {count}"
            )
        time.sleep(0.02)


def retry_after_s(reply: Reply) -> float | None:
    """The Retry-After of a reply in seconds (delta-seconds or an HTTP-date), None when absent or unreadable."""
    value = reply.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def limit_headers(reply: Reply | None) -> dict[str, str]:
    """The rate-limit headers of a reply: Retry-After, RateLimit*, X-RateLimit*."""
    if reply is None:
        return {}
    return {
        name: value
        for name, value in reply.headers.items()
        if name == "retry-after" or name.startswith(("ratelimit", "x-ratelimit"))
    }

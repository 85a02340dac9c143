"""Time for the emulator. Every rule that depends on time (retention, TTL, rate-limit windows,
long-polls, simulated work) reads `Clock.now()` and waits with `Clock.sleep()`, so tests can
drive a `ManualClock` instead of sleeping.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    """A pending `call_later`; `cancel()` is safe to call twice or after it fired."""

    def cancel(self) -> None: ...


class _ManualTimer:
    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], object]) -> None:
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Clock(Protocol):
    timer_tick_s: float
    """How far past its time a timer may fire: the event loop's timers wake on a whole-millisecond
    tick (0 on a ManualClock). Work due *at* a time rather than *not before* it (a token) asks half
    a tick early, so its error is centred on the time instead of lying all after it."""

    def now(self) -> float:
        """Seconds on a monotonic scale (not wall time)."""
        ...

    def wall(self) -> float:
        """Seconds since the epoch, for timestamps shown to people."""
        ...

    async def sleep(self, seconds: float) -> None: ...

    def call_later(self, delay: float, callback: Callable[[], object]) -> Timer:
        """Run `callback` (synchronously, on the loop) once `delay` seconds have passed.

        The emulator's workers, retention sweeps and long-poll deadlines use this instead of a
        task per job, so 10k timers cost 10k small handles, not 10k coroutines.
        """
        ...


class MonotonicClock:
    """The real clock."""

    timer_tick_s = 0.001

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def call_later(self, delay: float, callback: Callable[[], object]) -> Timer:
        # An absolute time on this clock, not the loop's `call_later`: uvloop adds the delay to the
        # time it cached at the start of the loop's pass (whole milliseconds, a coarse clock), so a
        # timer set late in a busy pass fired up to 1.2 ms early; through `call_at` it fires within
        # -0.4..+1.6 ms of its time (docs/performance-notes.md, token timing). On the standard loop
        # both are the same: its time is this clock's.
        return asyncio.get_running_loop().call_at(time.monotonic() + max(0.0, delay), callback)


class ManualClock:
    """A clock that moves only when told to; sleepers wake when `advance` passes their deadline."""

    timer_tick_s = 0.0

    def __init__(
        self,
        start: float = 1000.0,
        wall_start: float = 1_800_000_000.0,
        *,
        on_time_passes: Callable[[float, float], object] | None = None,
    ) -> None:
        self._now = start
        self.on_time_passes = on_time_passes
        """Told (from, to) each time the clock moves on, before the timers due at `to` run: the
        state seen now held over the whole span (the what-if simulation integrates worker-seconds)."""
        self._wall_offset = wall_start - start
        self._sleepers: list[tuple[float, int, asyncio.Future[None] | _ManualTimer]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._now + self._wall_offset

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._seq), future))
        await future

    def call_later(self, delay: float, callback: Callable[[], object]) -> Timer:
        timer = _ManualTimer(callback)
        heapq.heappush(self._sleepers, (self._now + max(0.0, delay), next(self._seq), timer))
        return timer

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has come (in deadline order).

        Timers run inline, with `now()` equal to their deadline, so a timer that schedules
        another one inside the advanced span sees it fire in the same call.
        """
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self._advance_to(self._now + seconds)

    def _advance_to(self, target: float) -> None:
        passes = self.on_time_passes
        while self._sleepers and self._sleepers[0][0] <= target:
            deadline, _, waiter = heapq.heappop(self._sleepers)
            if deadline > self._now:
                if passes is not None:
                    passes(self._now, deadline)
                self._now = deadline
            if isinstance(waiter, _ManualTimer):
                if not waiter.cancelled:
                    waiter.cancelled = True
                    waiter.callback()
            elif not waiter.done():
                waiter.set_result(None)
        if passes is not None and target > self._now:
            passes(self._now, target)
        self._now = target

    async def advance_and_settle(self, seconds: float, *, steps: int = 1) -> None:
        """Advance in `steps` equal slices, letting woken tasks run after each slice."""
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        start = self._now
        for step in range(1, steps + 1):
            # Each slice ends at an exact fraction of the span, so slices add up to one advance.
            self._advance_to(start + seconds if step == steps else start + seconds * step / steps)
            for _ in range(5):
                await asyncio.sleep(0)

    @property
    def pending_sleepers(self) -> int:
        return sum(1 for *_, f in self._sleepers if isinstance(f, asyncio.Future) and not f.done())

    @property
    def pending_timers(self) -> int:
        return sum(1 for *_, t in self._sleepers if isinstance(t, _ManualTimer) and not t.cancelled)

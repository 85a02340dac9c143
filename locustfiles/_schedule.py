"""The open-model send schedule: intended send times that hold the rate whatever responses do.

One `OpenSchedule` per flow per process hands the next intended send time to whichever user of
that flow is free (users are the slots). A slow target therefore makes sends late, never rarer:
a user that claims a time already past sends at once and the send counts as late; a time no user
could take within `drop_s` is dropped and counted (k6's `dropped_iterations`). Pure arithmetic on
plain floats, so it is tested without gevent.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass

Segment = tuple[float, float, float]
"""(start_s, end_s, rate per second), relative to the schedule's start."""


@dataclass(frozen=True)
class Claim:
    intended: float | None
    """Absolute time the send should happen; None once the schedule is over."""
    dropped: int
    """Earlier intended sends skipped by this claim because no slot took them within the bound."""
    body: bytes | None = None
    """A replayed trace row's own request body (None: the flow's)."""


class OpenSchedule:
    """Sends sit where the expected count N(t) = integral of the rate crosses k + phase (uniform)
    or the points of a unit-rate Poisson process mapped through N (non-homogeneous Poisson), so
    the number of sends always matches the staged rate, across stage boundaries too."""

    def __init__(
        self,
        segments: list[Segment],
        start: float,
        *,
        drop_s: float,
        poisson: bool = False,
        rng: random.Random | None = None,
        phase: float = 0.0,
        burstiness: float = 1.0,
    ) -> None:
        """`phase` in [0, 1) shifts every uniform send by that fraction of a gap, so that several
        processes sharing one flow do not all send at their start. With `poisson`, `burstiness` is
        the shape of gamma-distributed gaps of mean 1 in the count's time (1: Poisson; below 1:
        bursts and lulls; above 1: steadier), as vLLM's serving benchmark draws its arrivals."""
        self.start = start
        self.drop_s = drop_s
        self.poisson = poisson
        self.burstiness = burstiness
        self._rng = rng or random.Random(0)
        self._segments = [(start + a, start + b, r) for a, b, r in segments if b > a and r >= 0]
        self.end = self._segments[-1][1] if self._segments else start
        self._cumulative = [0.0]
        for a, b, r in self._segments:
            self._cumulative.append(self._cumulative[-1] + (b - a) * r)
        self.total = self._cumulative[-1]
        """Expected sends over the whole schedule."""
        self._phase = phase
        self._k = 0
        self._u = self._gap() if poisson else phase
        self.next_send = self._time_of(self._u)
        """Absolute time of the next unclaimed send (inf when none is left)."""
        self.claimed = 0
        self.dropped = 0

    def _time_of(self, u: float) -> float:
        """N^-1(u): when the expected count reaches u (inf past the end)."""
        if u >= self.total:
            return math.inf
        i = bisect.bisect_right(self._cumulative, u) - 1
        while self._segments[i][2] <= 0:  # a zero-rate stage adds nothing: skip to the next
            i += 1
        a, _, rate = self._segments[i]
        return a + (u - self._cumulative[i]) / rate

    def _count_at(self, t: float) -> float:
        """N(t): expected sends before absolute time t."""
        for i, (a, b, rate) in enumerate(self._segments):
            if t < b:
                return self._cumulative[i] + max(0.0, t - a) * rate
        return self.total

    def _gap(self) -> float:
        if self.burstiness == 1.0:
            return self._rng.expovariate(1.0)
        return self._rng.gammavariate(self.burstiness, 1.0 / self.burstiness)

    def _advance(self) -> None:
        if self.poisson:
            self._u += self._gap()
        else:
            self._k += 1
            self._u = self._k + self._phase
        self.next_send = self._time_of(self._u)

    def _skip_before(self, limit: float) -> int:
        """Drop every intended time before `limit`; uniform sends are skipped arithmetically."""
        if self.next_send >= limit:
            return 0
        if not self.poisson:
            due = self._count_at(limit) - self._phase  # sends k with k + phase < N(limit)
            last = max(self._k, math.ceil(due) - 1)
            skipped = last - self._k + 1
            self._k = last + 1
            self._u = self._k + self._phase
            self.next_send = self._time_of(self._u)
            while self.next_send < limit:  # float edge at the boundary
                skipped += 1
                self._advance()
            return skipped
        skipped = 0
        while self.next_send < limit:
            skipped += 1
            self._advance()
        return skipped

    def claim(self, now: float) -> Claim:
        """The next intended send time for the calling slot (None when over) and the sends dropped."""
        dropped = self._skip_before(now - self.drop_s)
        self.dropped += dropped
        intended = self.next_send
        if intended >= self.end:
            return Claim(None, dropped)
        self._advance()
        self.claimed += 1
        return Claim(intended, dropped)

    def abandon(self, now: float) -> int:
        """The run stops: every send already due but never claimed counts as dropped; later
        ones (an interrupted run) were never due and are not counted."""
        left = self._skip_before(now)
        self.dropped += left
        self._u = self.next_send = math.inf
        return left


class ClosedSchedule:
    """A fixed concurrency (closed model): each slot sends again as soon as its last request ended,
    until `end`. Nothing is late or dropped: the target sets the pace."""

    def __init__(self, start: float, duration_s: float) -> None:
        self.start = start
        self.end = start + duration_s
        self.total = 0.0
        self.claimed = 0
        self.dropped = 0

    def claim(self, now: float) -> Claim:
        if now >= self.end:
            return Claim(None, 0)
        self.claimed += 1
        return Claim(now, 0)

    def abandon(self, now: float) -> int:
        self.end = min(self.end, now)
        return 0

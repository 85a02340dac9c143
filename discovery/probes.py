"""The probe sequence for one operation's rate limit, run against a rested limiter.

1. cold: a fast burst until the limiter has clearly said no: the cold burst size.
2. watch: slow probes while refused (each recovery is timed to one probe interval), fast ones
   while accepted (the recovered budget is used up at once), for at least two recoveries.
3. straddle (windows only): after a full window of silence, a fast burst centred on the boundary
   a fixed window would have: ~2N pass a fixed window, N a sliding one.
4. Retry-After: exhaust, then one request just before the announced moment and one just after.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from discovery.analysis import classify, clustered_share, estimate, usable
from discovery.operations import Operation
from discovery.pacer import Pacer, Sample, paced_times

BEFORE_MARGIN_S = 0.05


@dataclass(frozen=True)
class ProbePace:
    """How fast and how far the probes of one operation go (sized from its expected limit)."""

    fast_rate: float
    """Requests per second of bursts; the calibration proved the client can send this."""
    watch_rate: float
    """Requests per second while refused: sets the time resolution of recoveries."""
    cold_cap: int
    """Largest cold burst: beyond it the operation is reported as not limited."""
    watch_timeout_s: float
    min_watch_accepts: int = 25
    min_watch_s: float = 2.0

    @property
    def watch_interval_s(self) -> float:
        return 1.0 / self.watch_rate


class Tracker:
    """Follows answers in send order (they may arrive out of order) as they come in."""

    def __init__(self, samples: list[Sample], last_accept_t: float | None = None) -> None:
        self.samples = samples
        self._cursor = 0
        self.accepted = 0
        self.refused_streak = 0
        self.in_run = False
        self.silences: list[float] = []
        self._last_accept_t = last_accept_t
        self._refused_since_accept = last_accept_t is not None

    @property
    def processed(self) -> int:
        return self._cursor

    def update(self) -> Tracker:
        while self._cursor < len(self.samples) and self.samples[self._cursor].done:
            s = self.samples[self._cursor]
            self._cursor += 1
            if s.limited:
                self.refused_streak += 1
                self.in_run = False
                self._refused_since_accept = True
            elif s.accepted:
                if self._refused_since_accept and self._last_accept_t is not None:
                    self.silences.append(s.t_send - self._last_accept_t)
                self._last_accept_t = s.t_send
                self._refused_since_accept = False
                self.accepted += 1
                self.refused_streak = 0
                self.in_run = True
        return self

    def major_recoveries(self) -> int:
        if not self.silences:
            return 0
        longest = max(self.silences)
        return sum(x >= 0.3 * longest for x in self.silences)


@dataclass
class RateProbe:
    op: str
    samples: list[Sample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    retry_after: dict[str, Any] | None = None


async def probe_rate(pacer: Pacer, op: Operation, pace: ProbePace) -> RateProbe:
    result = RateProbe(op.name)
    cold = await _cold(pacer, op, pace)
    result.samples += cold
    if not any(s.limited for s in cold):
        result.notes.append(f"no 429 in a cold burst of {len(cold)} requests at {pace.fast_rate:g}/s")
        return result
    result.samples += await _watch(pacer, op, pace, result.samples)
    preliminary = classify(result.samples, pace.watch_interval_s)
    if preliminary.evidence.get("best_fit") in ("fixed_window", "sliding_window"):
        result.samples += await _straddle(pacer, op, pace, result.samples)
    exhaust, result.retry_after = await _retry_after(pacer, op, pace)
    result.samples += exhaust
    return result


async def _cold(pacer: Pacer, op: Operation, pace: ProbePace) -> list[Sample]:
    sent: list[Sample] = []
    tracker = Tracker(sent)

    def stop() -> bool:
        # Clearly said no: most of the latest answers refused (a bucket still lets its refill through).
        tracker.update()
        recent = max(10, math.ceil(0.02 * tracker.accepted))
        answered = [s for s in sent[: tracker.processed][-recent:] if s.accepted or s.limited]
        refused = sum(s.limited for s in answered)
        return (len(answered) == recent and refused >= 0.6 * recent) or len(sent) >= pace.cold_cap

    start = pacer.now()
    deadline = start + pace.cold_cap / pace.fast_rate + 1.0
    return await pacer.paced(op, "cold", paced_times(start, pace.fast_rate), stop, deadline, sent)


async def _watch(pacer: Pacer, op: Operation, pace: ProbePace, before: list[Sample]) -> list[Sample]:
    sent: list[Sample] = []
    last_accept = next((s.t_send for s in reversed(before) if s.accepted), None)
    tracker = Tracker(sent, last_accept_t=last_accept)
    start = pacer.now()

    checked = {"at": -1.0, "window_like": False}

    def stop() -> bool:
        tracker.update()
        if tracker.in_run or tracker.major_recoveries() < 2 or pacer.now() - start < pace.min_watch_s:
            return False
        if tracker.accepted >= pace.min_watch_accepts:
            return True  # a bucket's rate: enough accepts over enough time for a steady slope
        # Windows hand out their budget in clusters and need only two recoveries; a bucket's
        # even single accepts need `min_watch_accepts` for its rate. (Checked every 50 ms.)
        if pacer.now() - checked["at"] >= 0.05:
            share = clustered_share([s for s in sent[: tracker.processed] if s.done])
            checked.update(at=pacer.now(), window_like=share is not None and share >= 0.25)
        return bool(checked["window_like"])

    def times() -> Iterator[float]:
        t = start
        while True:
            tracker.update()
            rate = pace.fast_rate / 2 if tracker.in_run else pace.watch_rate
            t = max(t + 1.0 / rate, pacer.now() - 1.0 / rate)
            yield t

    return await pacer.paced(op, "watch", times(), stop, start + pace.watch_timeout_s, sent)


async def _straddle(pacer: Pacer, op: Operation, pace: ProbePace, before: list[Sample]) -> list[Sample]:
    candidates = estimate(usable(sorted(before, key=lambda s: s.t_send)), pace.watch_interval_s)
    fixed = candidates.get("fixed_window")
    if fixed is None:
        return []
    window = fixed.window_s
    longest = max(window, candidates["sliding_window"].window_s if "sliding_window" in candidates else 0.0)
    half_s = min(0.3 * window, max(1.25 * fixed.limit / pace.fast_rate, 0.05 * window))
    per_half = math.ceil(1.25 * fixed.limit) + 2
    earliest = pacer.now() + longest * 1.05 + half_s
    k = math.ceil((earliest - fixed.phase_s) / window)
    centre = fixed.phase_s + k * window
    step = half_s / per_half
    times = [centre - half_s + i * step for i in range(2 * per_half)]
    return await pacer.paced(op, "straddle", iter(times), lambda: False, times[-1] + step)


def parse_retry_after(value: str | None) -> tuple[float, float] | None:
    """(seconds, resolution) of a delta-seconds `Retry-After`; None when absent or an HTTP date."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    whole = value.strip().isdigit()
    return seconds, (1.0 if whole else max(0.02, 0.05 * seconds))


async def _retry_after(
    pacer: Pacer, op: Operation, pace: ProbePace
) -> tuple[list[Sample], dict[str, Any] | None]:
    sent: list[Sample] = []
    tracker = Tracker(sent)
    start = pacer.now()

    def stop() -> bool:
        return tracker.update().refused_streak >= 3

    await pacer.paced(
        op, "exhaust", paced_times(start, pace.fast_rate), stop, start + pace.watch_timeout_s, sent
    )
    last = next((s for s in reversed(sent) if s.limited), None)
    if last is None:
        return sent, {"checked": False, "reason": "could not exhaust the limit again"}
    parsed = parse_retry_after(last.retry_after)
    if parsed is None:
        return sent, {
            "checked": False,
            "header": last.retry_after,
            "reason": "no delta-seconds Retry-After on the 429",
        }
    seconds, resolution = parsed
    # "Just before" is one step of the header's resolution early; when the header is already its
    # smallest value (1 s for a wait of a few ms) there is no earlier moment it promises anything for.
    # The target's true wait lies in (seconds - resolution, seconds]; aim a little inside that
    # bound so send lag cannot carry the "before" probe past the true moment.
    testable_before = seconds - resolution - BEFORE_MARGIN_S > 0
    before_t = last.t_server + seconds - resolution - BEFORE_MARGIN_S
    after_t = last.t_server + seconds + max(0.02, 0.01 * seconds)
    before = []
    if testable_before:
        before = await pacer.paced(op, "retry_before", iter([before_t]), lambda: False, before_t + 1)
    after = await pacer.paced(op, "retry_after", iter([after_t]), lambda: False, after_t + 1)
    accurate = bool(after and after[0].accepted and (not testable_before or (before and before[0].limited)))
    return sent + before + after, {
        "checked": True,
        "accurate": accurate,
        "header": last.retry_after,
        "resolution_s": resolution,
        "before": {"offset_s": round(before[0].t_server - last.t_server, 4), "status": before[0].status}
        if before
        else "not tested: the header is already its smallest value",
        "after": {"offset_s": round(after[0].t_server - last.t_server, 4), "status": after[0].status}
        if after
        else None,
    }

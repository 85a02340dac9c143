"""Trace replay: intended send times (and inputs) read from a trace file instead of a rate.

`podbench load --trace` writes the trace it replays into the result folder (times already divided
by `--trace-speed`) and names it in the plan. Each flow of the trace gets a `TraceSchedule` with
the same contract as `OpenSchedule` (claim, abandon, end): a free user claims the next arrival;
one no user could take within `drop_s` is dropped and counted. A row's own input is sent
pre-encoded as the body; a row without one sends the flow's input from the profile.
"""

from __future__ import annotations

import json
from pathlib import Path

from contract.traces import read_trace
from locustfiles._schedule import Claim


class TraceSchedule:
    def __init__(
        self,
        times: list[float],
        bodies: list[bytes | None],
        start: float,
        *,
        drop_s: float,
        duration_s: float,
    ) -> None:
        self.start = start
        self.drop_s = drop_s
        self._times = times
        self._bodies = bodies
        self._next = 0
        self.end = start + max(duration_s, times[-1] if times else 0.0)
        self.total = float(len(times))
        self.claimed = 0
        self.dropped = 0

    @property
    def next_send(self) -> float:
        return self.start + self._times[self._next] if self._next < len(self._times) else float("inf")

    def _skip_before(self, limit: float) -> int:
        skipped = 0
        times, start = self._times, self.start
        while self._next < len(times) and start + times[self._next] < limit:
            self._next += 1
            skipped += 1
        return skipped

    def claim(self, now: float) -> Claim:
        dropped = self._skip_before(now - self.drop_s)
        self.dropped += dropped
        if self._next >= len(self._times):
            return Claim(None, dropped)
        index = self._next
        self._next += 1
        self.claimed += 1
        return Claim(self.start + self._times[index], dropped, self._bodies[index])

    def abandon(self, now: float) -> int:
        left = self._skip_before(now)
        self.dropped += left
        self._next = len(self._times)
        return left


def trace_schedules(path: str, start: float, *, drop_s: float, duration_s: float) -> dict[str, TraceSchedule]:
    """One schedule per flow of the trace file."""
    trace = read_trace(Path(path))
    times: dict[str, list[float]] = {}
    bodies: dict[str, list[bytes | None]] = {}
    for arrival in trace.arrivals:
        times.setdefault(arrival.flow, []).append(arrival.t)
        body = None if arrival.input is None else json.dumps({"input": arrival.input}).encode()
        bodies.setdefault(arrival.flow, []).append(body)
    return {
        flow: TraceSchedule(times[flow], bodies[flow], start, drop_s=drop_s, duration_s=duration_s)
        for flow in times
    }

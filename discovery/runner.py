"""A whole discovery run: every operation in turn, rested in between, into one document.

`discover()` returns the `operations` part of `limits.json` (docs/results-format.md) plus the
generator's own figures; the caller adds the target and writes the files. The API key arrives
as a string and only ever goes into the Authorization header.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from discovery.analysis import classify, recovery_curve, sustained_rate
from discovery.concurrency import Holder, probe_concurrency
from discovery.operations import DOCUMENTED_WINDOW_S, Documented, Operation, operation
from discovery.pacer import BudgetReached, Pacer, Sample, send_each_request_once, send_time_tracing
from discovery.probes import ProbePace, RateProbe, probe_rate

NEEDED_BURST_FACTOR = 3.0
"""A burst must reach this multiple of the expected mean rate N/W to measure N/W faithfully."""
POOL_SIZE = 1024
DEFAULT_HINT = Documented(100, DOCUMENTED_WINDOW_S, None)


class ClientTooSlow(Exception):
    """The client cannot send fast enough to measure the limit it expects."""


@dataclass(frozen=True)
class Settings:
    base_url: str
    endpoint_id: str
    api_key: str | None
    operations: tuple[str, ...]
    fast_rate: float
    """Burst rate in requests per second (proven by calibration)."""
    watch_rate: float = 200.0
    max_requests: int | None = None
    measure_concurrency: bool = True
    hints: dict[str, Documented] = field(default_factory=dict)
    """Expected limits used only to size the probes (default: the documented table)."""

    def hint(self, op: Operation) -> Documented:
        return self.hints.get(op.name) or op.documented or DEFAULT_HINT


PROGRESS_EVERY_S = 5.0


def pace_for(settings: Settings, op: Operation) -> ProbePace:
    hint = settings.hint(op)
    return ProbePace(
        fast_rate=settings.fast_rate,
        watch_rate=min(settings.watch_rate, settings.fast_rate / 4),
        cold_cap=max(200, 4 * hint.limit),
        watch_timeout_s=max(10.0, 4 * hint.window_s),
    )


def needed_rate(settings: Settings) -> float:
    return max(
        NEEDED_BURST_FACTOR * settings.hint(operation(n)).limit / settings.hint(operation(n)).window_s
        for n in settings.operations
    )


def planned_requests(settings: Settings) -> int:
    """What a run expects to send (the cap still applies): printed before a real-target run."""
    total = 0
    for name in settings.operations:
        op = operation(name)
        hint, pace = settings.hint(op), pace_for(settings, op)
        total += math.ceil(1.1 * hint.limit) + 20  # cold burst
        total += math.ceil(pace.watch_rate * 2.2 * hint.window_s + 2 * hint.limit)  # watch
        total += math.ceil(2.5 * hint.limit) + 10  # straddle, Retry-After
        if settings.measure_concurrency and op.hold and hint.concurrency:
            total += math.ceil(1.2 * hint.concurrency) + 2
    return total


class Discovery:
    """One discovery run. `run()` measures every operation in turn; when the run is cut short
    (Ctrl-C cancels it), `so_far()` still gives what was measured, marked incomplete."""

    def __init__(self, settings: Settings, say: Callable[[str], None] = lambda _: None) -> None:
        self.settings = settings
        self.say = say
        self.results: dict[str, Any] = {}
        self.interrupted: str | None = None
        self._pacer: Pacer | None = None
        self._current: tuple[Operation, int] | None = None
        """The operation being probed and where its samples start in the pacer's list."""

    async def run(self) -> dict[str, Any]:
        settings = self.settings
        if settings.fast_rate < needed_rate(settings):
            raise ClientTooSlow(
                f"this client sends at most {settings.fast_rate:.0f} requests/s, but measuring the expected limits "
                f"needs bursts of {needed_rate(settings):.0f}/s"
            )
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        # Send stamps come from the trace hook, so a request that waited for a connection is still
        # placed where it really left; the pool only bounds the sockets.
        connector = aiohttp.TCPConnector(limit=POOL_SIZE)
        async with aiohttp.ClientSession(connector=connector, trace_configs=[send_time_tracing()]) as session:
            send_each_request_once(session)
            pacer = Pacer(session, settings.base_url, settings.endpoint_id, headers, settings.max_requests)
            self._pacer = pacer
            holder = Holder(session, settings.base_url, settings.endpoint_id, headers)
            progress = asyncio.create_task(_report_progress(pacer, self.say))
            try:
                await self._probe_all(pacer, holder)
            finally:
                progress.cancel()
        return self._document()

    def so_far(self, reason: str) -> dict[str, Any]:
        """What was measured until now: finished operations as they are, the one in progress
        analysed from the answers it got and marked `"complete": false`."""
        if self._current is not None and self._pacer is not None:
            op, first = self._current
            if op.name not in self.results:  # cut during the rate probe: fit what was answered
                probe = RateProbe(op.name)
                probe.samples = [s for s in self._pacer.samples[first:] if s.done]
                self.results[op.name] = _operation_result(self.settings, op, probe, self._pacer)
            _mark_incomplete(self.results[op.name], reason)
            self._current = None
        self.interrupted = self.interrupted or reason
        return self._document()

    def _document(self) -> dict[str, Any]:
        sent = self._pacer.sent if self._pacer is not None else 0
        complete = self.interrupted is None and set(self.results) == set(self.settings.operations)
        return {
            "operations": self.results,
            "interrupted": self.interrupted,
            "complete": complete,
            "requests_sent": sent,
        }

    async def _probe_all(self, pacer: Pacer, holder: Holder) -> None:
        settings, say, results = self.settings, self.say, self.results
        rest_s = 0.0
        for name in settings.operations:
            op = operation(name)
            await asyncio.sleep(rest_s)  # budgets may be shared (status, stream): start rested
            say(f"{name}: probing the rate limit")
            first = len(pacer.samples)
            self._current = (op, first)
            probe = RateProbe(name)
            try:
                probe = await probe_rate(pacer, op, pace_for(settings, op))
            except BudgetReached as exc:
                self.interrupted = str(exc)
                probe.samples = pacer.samples[first:]
            await pacer.drain()
            results[name] = _operation_result(settings, op, probe, pacer)
            rest_s = 1.1 * (results[name]["window_s"] or 0.0) + 0.1
            if self.interrupted:
                _mark_incomplete(results[name], self.interrupted)
                break
            if settings.measure_concurrency and op.hold:
                await asyncio.sleep(rest_s)
                say(f"{name}: probing the concurrency limit")
                try:
                    conc = await _concurrency(settings, op, holder, pacer, results[name])
                except BudgetReached as exc:
                    self.interrupted = str(exc)
                    _mark_incomplete(results[name], self.interrupted)
                    break
                results[name]["concurrency"] = conc.get("concurrency")
                results[name]["evidence"]["concurrency"] = conc
            else:
                results[name]["evidence"]["concurrency"] = {
                    "concurrency": None,
                    "reason": "this operation answers at once; there is no documented way to hold it in flight",
                }
            self._current = None


def _mark_incomplete(result: dict[str, Any], reason: str) -> None:
    result["complete"] = False
    result["evidence"]["notes"].append(f"cut short: {reason}")


async def discover(settings: Settings, say: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """The whole run in one call (see `Discovery` to keep what was measured when cut short)."""
    return await Discovery(settings, say).run()


async def _report_progress(
    pacer: Pacer, say: Callable[[str], None], every_s: float = PROGRESS_EVERY_S
) -> None:
    """A probe can take a minute: say now and then how far it is (elapsed, requests so far)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while True:
        await asyncio.sleep(every_s)
        say(f"{loop.time() - started:.0f} s elapsed, {pacer.sent:,} requests so far")


async def _concurrency(
    settings: Settings, op: Operation, holder: Holder, pacer: Pacer, result: dict[str, Any]
) -> dict[str, Any]:
    hint = settings.hint(op)
    sustained = result.get("sustained_rps") or result.get("rate_per_s") or hint.limit / hint.window_s
    ramp = max(1.0, min(100.0, 0.4 * float(sustained)))
    cap = max(20, 2 * (hint.concurrency or 10))
    left = None if settings.max_requests is None else settings.max_requests - pacer.sent
    assert op.hold is not None
    outcome = await probe_concurrency(holder, op.hold, ramp, cap, left)
    pacer.sent += int(outcome.get("opened", 0)) + 2
    return outcome


def _operation_result(settings: Settings, op: Operation, probe: RateProbe, pacer: Pacer) -> dict[str, Any]:
    pace = pace_for(settings, op)
    samples = sorted(probe.samples, key=lambda s: s.seq)
    fit = classify(samples, pace.watch_interval_s)
    retry = probe.retry_after or {"checked": False, "reason": "not reached"}
    evidence: dict[str, Any] = dict(fit.evidence)
    evidence.update(
        {
            "phases": _phases(samples),
            "recovery_curve": recovery_curve(samples),
            "retry_after": retry,
            "headers_seen": _headers_seen(samples),
            "max_send_lag_ms": round(pacer.lag_ms(samples), 3),
            "burst_rate_rps": pace.fast_rate,
            "watch_rate_rps": pace.watch_rate,
            "requests": len(samples),
            "notes": probe.notes,
        }
    )
    cold = [s for s in samples if s.phase == "cold"]
    if len(cold) > 10 and cold[-1].t_send > cold[0].t_send:
        achieved = (len(cold) - 1) / (cold[-1].t_send - cold[0].t_send)
        evidence["cold_burst_achieved_rps"] = round(achieved, 1)
        if achieved < 0.7 * pace.fast_rate:
            evidence["notes"].append(
                f"the client sent the cold burst at {achieved:.0f}/s, not {pace.fast_rate:.0f}/s: "
                "a busy machine; limits near that rate are uncertain"
            )
    if fit.algorithm == "token_bucket":
        evidence["window_meaning"] = (
            "a token bucket has no window: window_s is burst / rate, the time to refill it"
        )
    return {
        "limit": fit.limit,
        "window_s": fit.window_s,
        "burst": fit.burst,
        "rate_per_s": fit.rate_per_s,
        "sustained_rps": sustained_rate(samples, pace.watch_interval_s),
        "concurrency": None,
        "algorithm": fit.algorithm,
        "retry_after_accurate": retry.get("accurate") if retry.get("checked") else None,
        "evidence": evidence,
        "documented": op.documented.as_json() if op.documented else None,
        "timeline": [s.row() for s in samples],
        "complete": True,
    }


def _phases(samples: list[Sample]) -> dict[str, list[int]]:
    """Where each probe phase sits in the timeline: [first row, row count]."""
    spans: dict[str, list[int]] = {}
    for i, s in enumerate(samples):
        spans.setdefault(s.phase, [i, 0])[1] += 1
    return spans


def _headers_seen(samples: list[Sample]) -> dict[str, str]:
    seen: dict[str, str] = {}
    for s in samples:
        for k, v in s.headers.items():
            seen.setdefault(k, v)
    return seen

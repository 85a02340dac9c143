"""The precise sender: requests leave at intended times, and both times are recorded.

A measured limit must be the target's, not the client's. Every request has an intended send time
on the run's clock (the event loop's monotonic clock, zero at the start of the run) and records
the moment it actually left, so lag is visible in the results and the analysis can use the real
send times. Requests run as tasks, so a slow answer never delays the next send (open model).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import aiohttp

from discovery.operations import PROBE_JOB_ID, Operation

# Headers worth keeping from a limited answer: Retry-After and every RateLimit flavour.
KEPT_HEADER_PREFIXES = ("retry-after", "ratelimit", "x-ratelimit", "x-rate-limit")
MAX_IN_FLIGHT = 2000
TIMEOUT_S = 30.0


class BudgetReached(Exception):
    """The run has sent `--max-requests` requests; nothing more may be sent."""


@dataclass
class Sample:
    seq: int
    op: str
    phase: str
    t_intended: float
    t_send: float
    status: int = -1
    """-1: no answer yet; 0: transport error or timeout; else the HTTP status."""
    latency_ms: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.status >= 0

    @property
    def limited(self) -> bool:
        return self.status == 429

    @property
    def accepted(self) -> bool:
        """Answered, and not refused by a limit (a 404 for a probe job id still passed the limiter)."""
        return 0 < self.status < 500 and self.status != 429

    @property
    def t_server(self) -> float:
        """Best guess of when the target decided: half way through the round trip.

        The decision lies between the send and the answer; which end it is nearer depends on
        whether the target or this client was the busy one, so the middle errs least either way.
        """
        return self.t_send + 0.5 * self.latency_ms / 1000.0

    @property
    def retry_after(self) -> str | None:
        return self.headers.get("retry-after")

    def row(self) -> list[Any]:
        return [round(self.t_send, 6), round(self.t_intended, 6), self.status, round(self.latency_ms, 3)]


def send_time_tracing() -> aiohttp.TraceConfig:
    """Stamp each sample when its headers are written, not when its task started.

    A burst may wait for a pooled connection, or open one: the stamp then still says when the
    request really left, so the analysis sees the target's timing, not the client's queue.
    """

    async def headers_sent(
        _session: aiohttp.ClientSession, ctx: SimpleNamespace, _params: aiohttp.TraceRequestHeadersSentParams
    ) -> None:
        info = ctx.trace_request_ctx
        if isinstance(info, dict) and isinstance(info.get("sample"), Sample):
            info["sample"].t_send = info["pacer"].now()

    config = aiohttp.TraceConfig()
    config.on_request_headers_sent.append(headers_sent)
    return config


def send_each_request_once(session: aiohttp.ClientSession) -> None:
    """Turn off aiohttp's silent resend of an idempotent request (a GET) whose connection closed
    before the answer: the target would see two requests (two spent from its rate budget) where
    the timeline shows one slow answer. A drop is recorded as what it is: status 0, no answer.
    The switch is the one aiohttp's own test client turns off; a version without it never resends."""
    if hasattr(session, "_retry_connection"):
        session._retry_connection = False


def paced_times(start: float, rate: float) -> Iterator[float]:
    """Intended send times from `start` at a steady `rate` (requests per second), forever."""
    interval = 1.0 / rate
    n = 0
    while True:
        yield start + n * interval
        n += 1


class Pacer:
    """Sends requests of one target at intended times; owns the run's clock and request budget."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        endpoint_id: str,
        headers: Mapping[str, str],
        max_requests: int | None = None,
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._endpoint_id = endpoint_id
        self._headers = dict(headers)
        self._loop = asyncio.get_running_loop()
        self._origin = self._loop.time()
        self.max_requests = max_requests
        self.sent = 0
        self.samples: list[Sample] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def now(self) -> float:
        return self._loop.time() - self._origin

    async def sleep_until(self, t: float) -> None:
        delay = t - self.now()
        if delay > 0:
            await asyncio.sleep(delay)

    def send(self, op: Operation, phase: str, t_intended: float, job_id: str = PROBE_JOB_ID) -> Sample:
        if self.max_requests is not None and self.sent >= self.max_requests:
            raise BudgetReached(f"the request budget of {self.max_requests} is spent")
        self.sent += 1
        sample = Sample(len(self.samples), op.name, phase, t_intended, self.now())
        self.samples.append(sample)
        task = asyncio.ensure_future(self._fetch(op, sample, job_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return sample

    async def _fetch(self, op: Operation, sample: Sample, job_id: str) -> None:
        url = op.url(self._base_url, self._endpoint_id, job_id)
        sample.t_send = self.now()  # refined by the trace hook when the headers leave
        try:
            async with self._session.request(
                op.method,
                url,
                json=op.body,
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_S),
                trace_request_ctx={"sample": sample, "pacer": self},
            ) as resp:
                await resp.read()
                sample.headers = {
                    k.lower(): v
                    for k, v in resp.headers.items()
                    if k.lower().startswith(KEPT_HEADER_PREFIXES)
                }
                sample.status = resp.status
        except (TimeoutError, aiohttp.ClientError):
            sample.status = 0
        sample.latency_ms = (self.now() - sample.t_send) * 1000.0

    async def paced(
        self,
        op: Operation,
        phase: str,
        times: Iterator[float],
        stop: Callable[[], bool],
        deadline: float,
        sent: list[Sample] | None = None,
    ) -> list[Sample]:
        """Send at each intended time until `stop()` or `deadline`; wait for the answers.

        `sent` (appended to as requests leave) lets `stop` look at the answers so far.
        """
        sent = [] if sent is None else sent
        pending = next(times, None)
        if pending is None:
            return sent
        while pending is not None and pending < deadline and not stop():
            await self.sleep_until(pending)
            now = self.now()
            # Everything due goes out now, in order: a late wake-up must not thin the schedule.
            while pending is not None and pending <= now and pending < deadline:
                if len(self._tasks) >= MAX_IN_FLIGHT:
                    await asyncio.sleep(0.001)
                    break
                sent.append(self.send(op, phase, pending))
                pending = next(times, None)
            if sent and not sent[-1].done:
                await asyncio.sleep(0)  # let answers already read reach `stop()`
        await self.drain()
        return sent

    async def drain(self) -> None:
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def lag_ms(self, samples: list[Sample]) -> float:
        """The largest delay of an actual send behind its intended time (client-side lag)."""
        return max((s.t_send - s.t_intended for s in samples), default=0.0) * 1000.0

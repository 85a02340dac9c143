"""Tiny aiohttp servers that rate-limit like each algorithm, written independently of discovery.

They stand in for a target whose limits are known in advance: discovery must name the algorithm
and find the numbers. Time is the event loop's clock (these are real-time network tests).
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web


class Sliding:
    def __init__(self, limit: int, window_s: float) -> None:
        self.limit, self.window_s = limit, window_s
        self.accepts: deque[float] = deque()

    def wait(self, now: float) -> float:
        while self.accepts and self.accepts[0] <= now - self.window_s:
            self.accepts.popleft()
        if len(self.accepts) < self.limit:
            self.accepts.append(now)
            return 0.0
        return self.accepts[0] + self.window_s - now


class Fixed:
    def __init__(self, limit: int, window_s: float, phase_s: float = 0.0) -> None:
        self.limit, self.window_s, self.phase_s = limit, window_s, phase_s
        self.index, self.count = -1, 0

    def wait(self, now: float) -> float:
        index = math.floor((now - self.phase_s) / self.window_s)
        if index != self.index:
            self.index, self.count = index, 0
        if self.count < self.limit:
            self.count += 1
            return 0.0
        return self.phase_s + (index + 1) * self.window_s - now


class Bucket:
    def __init__(self, limit: int, window_s: float, burst: int) -> None:
        self.rate, self.burst = limit / window_s, burst
        self.tokens = float(burst)
        self.last: float | None = None

    def wait(self, now: float) -> float:
        if self.last is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


@dataclass
class Settings:
    algorithm: str
    limit: int
    window_s: float
    burst: int | None = None
    concurrency: int | None = None
    retry_after_offset_s: float = 0.0
    """Added to the true wait before rounding: a wrong Retry-After for negative tests."""


def make_limiter(s: Settings) -> Sliding | Fixed | Bucket:
    if s.algorithm == "sliding_window":
        return Sliding(s.limit, s.window_s)
    if s.algorithm == "fixed_window":
        return Fixed(s.limit, s.window_s, phase_s=0.37 * s.window_s)
    return Bucket(s.limit, s.window_s, s.burst or s.limit)


def build_app(settings: Settings) -> web.Application:
    limiter = make_limiter(settings)
    in_flight = [0]

    async def handle(request: web.Request) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        if settings.concurrency is not None and in_flight[0] >= settings.concurrency:
            return web.json_response(
                {"error": "too many in flight"}, status=429, headers={"Retry-After": "1"}
            )
        wait = limiter.wait(loop.time())
        if wait > 0:
            seconds = max(1, math.ceil(wait + settings.retry_after_offset_s - 1e-9))
            return web.json_response(
                {"error": "rate limited"}, status=429, headers={"Retry-After": str(seconds)}
            )
        in_flight[0] += 1
        try:
            body = await request.json() if request.can_read_body else {}
            await asyncio.sleep(_hold_s(request, body))
            return web.json_response({"id": "held-1", "status": "COMPLETED"})
        finally:
            in_flight[0] -= 1

    app = web.Application()
    app.router.add_route("*", "/v2/{endpoint}/{tail:.*}", handle)
    return app


def _hold_s(request: web.Request, body: object) -> float:
    """Like the real API: runsync waits for a sleeping job, status-sync and stream for a held job."""
    wait = float(request.query.get("wait", "0")) / 1000.0
    tail = request.match_info["tail"]
    if tail.startswith("runsync") and isinstance(body, dict):
        return min(wait, float(body.get("input", {}).get("sleep", 0)))
    if tail.startswith(("status-sync/held", "stream/held")):
        return wait
    return 0.0


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[str]:
    """Run the server on a free loopback port; yields the base URL (…/v2)."""
    runner = web.AppRunner(build_app(settings), access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/v2"
    finally:
        await runner.cleanup()

"""Webhook delivery: on a final state, POST the status object plus `input` and `webhook` (docs/api-behaviour.md §2).

A non-2xx reply, a timeout or a connection error is retried (`webhook_attempts` in all, default 3,
`webhook_retry_delay_s` apart, default 10 s, waited on the emulator's clock). Only loopback targets
are called unless the endpoint sets `webhook_allow_remote`; redirects are not followed (a loopback
receiver answering 307 to another host would otherwise get the job sent there), so a 3xx is a
failed attempt like any other non-2xx.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections import deque
from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from emulator.clock import Clock
from emulator.config import EndpointConfig
from emulator.models import Job

MAX_RECORDS = 1000


def is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Webhooks:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=MAX_RECORDS)
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def deliver(self, job: Job, config: EndpointConfig) -> None:
        url = job.webhook
        if not url:
            return
        try:  # spliced like /status replies: the output stays encoded, never decoded again
            data = b'%s, "input": %s, "webhook": %s}' % (
                job.status_bytes()[:-1],
                json.dumps(job.input).encode(),
                json.dumps(url).encode(),
            )
        except RecursionError:  # an input nested near the parser's limit; this runs inside the store's pump
            self._record(job.id, url, 1, None, "cannot encode the webhook body: input nested too deeply")
            return
        task = asyncio.get_running_loop().create_task(self._send(job.id, url, data, config))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, job_id: str, url: str, data: bytes, config: EndpointConfig) -> None:
        if not config.webhook_allow_remote and not is_loopback(url):
            self._record(job_id, url, 1, None, "refused: not a loopback address (set webhook_allow_remote)")
            return
        for attempt in range(1, config.webhook_attempts + 1):
            status: int | None = None
            error: str | None = None
            try:
                session = self._client()
                timeout = aiohttp.ClientTimeout(total=config.webhook_timeout_s)
                async with session.post(
                    url,
                    data=data,
                    headers={"Content-Type": "application/json"},
                    timeout=timeout,
                    allow_redirects=False,
                ) as resp:
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            self._record(job_id, url, attempt, status, error)
            if status is not None and 200 <= status < 300:
                return
            if attempt < config.webhook_attempts:
                await self.clock.sleep(config.webhook_retry_delay_s)

    def _record(self, job_id: str, url: str, attempt: int, status: int | None, error: str | None) -> None:
        self.deliveries.append(
            {
                "jobId": job_id,
                "url": url,
                "attempt": attempt,
                "status": status,
                "error": error,
                "time": round(self.clock.wall(), 3),
            }
        )

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    def clear(self) -> None:
        self.deliveries.clear()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()

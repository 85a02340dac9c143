"""The concurrency limit: hold requests in flight one more at a time until one is refused.

Requests are held by the API's own long waits: `/runsync?wait=` on a job that sleeps,
`/status-sync/{id}?wait=` and `/stream/{id}?wait=` on a job that produces nothing for a while.
They are opened slowly (well under the rate limit, so a 429 means "too many in flight"), then
all released at once; one more request afterwards shows whether a released place is usable again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import aiohttp

from discovery.pacer import BudgetReached

HOLD_PATHS = {
    "runsync": "runsync?wait={ms}",
    "status_sync": "status-sync/{job}?wait={ms}",
    "stream": "stream/{job}?wait={ms}",
}


class Holder:
    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, endpoint_id: str, headers: Mapping[str, str]
    ) -> None:
        self._session = session
        self._root = f"{base_url.rstrip('/')}/{endpoint_id}"
        self._headers = dict(headers)

    async def create_sleeping_job(self, sleep_s: float) -> str | None:
        body = {"input": {"stream": ["podbench"], "sleep": sleep_s}}
        async with self._session.post(f"{self._root}/run", json=body, headers=self._headers) as resp:
            if resp.status != 200:
                return None
            data = await resp.json(content_type=None)
        job = data.get("id") if isinstance(data, dict) else None
        return str(job) if job else None

    async def hold(self, kind: str, hold_s: float, job_id: str | None) -> int:
        path = HOLD_PATHS[kind].format(ms=int(hold_s * 1000), job=job_id or "")
        body = {"input": {"sleep": hold_s}} if kind == "runsync" else None
        method = "POST" if kind == "runsync" else "GET"
        timeout = aiohttp.ClientTimeout(total=hold_s + 30)
        async with self._session.request(
            method, f"{self._root}/{path}", json=body, headers=self._headers, timeout=timeout
        ) as resp:
            await resp.read()
            return resp.status


async def probe_concurrency(
    holder: Holder, kind: str, ramp_rps: float, cap: int, budget_left: int | None
) -> dict[str, Any]:
    """Open held requests one by one at `ramp_rps` until one is refused or `cap` are open."""
    loop = asyncio.get_running_loop()
    cap = min(cap, budget_left - 2) if budget_left is not None else cap
    if cap < 1:
        raise BudgetReached("no request budget left for the concurrency probe")
    hold_s = max(5.0, cap / ramp_rps + 5.0)
    job_id = None
    if kind != "runsync":
        job_id = await holder.create_sleeping_job(hold_s + 5.0)
        if job_id is None:
            return {"concurrency": None, "reason": "could not create a job to wait on"}
    tasks: list[asyncio.Task[int]] = []
    refused_at: int | None = None
    early: list[int] = []
    start = loop.time()
    for i in range(cap):
        await asyncio.sleep(max(0.0, start + i / ramp_rps - loop.time()))
        finished = [t for t in tasks if t.done()]
        early = [t.result() if not t.exception() else 0 for t in finished]
        if 429 in early:
            refused_at = sum(not t.done() for t in tasks)
            break
        if early:
            break  # a request came back without being refused: it could not be held
        tasks.append(asyncio.ensure_future(holder.hold(kind, hold_s, job_id)))
    else:
        await asyncio.sleep(min(1.0, 20 / ramp_rps))
        finished = [t for t in tasks if t.done()]
        early = [t.result() if not t.exception() else 0 for t in finished]
        if 429 in early:
            refused_at = sum(not t.done() for t in tasks)
    opened = len(tasks)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    result: dict[str, Any] = {
        "held_with": kind,
        "opened": opened,
        "ramp_rps": ramp_rps,
        "concurrency": refused_at,
    }
    if refused_at is None:
        non_429 = [s for s in early if s != 429]
        result["reason"] = (
            f"a held request ended early with status {non_429[0]}"
            if non_429
            else f"no 429 with {opened} in flight"
        )
        return result
    await asyncio.sleep(0.3)  # the target notices the closed connections
    try:
        status = await asyncio.wait_for(holder.hold(kind, 1.0, job_id), timeout=10)
    except (TimeoutError, aiohttp.ClientError):
        status = 0
    result["released_slot_status"] = status
    result["released_slot_usable"] = status != 429 and 0 < status < 500
    return result

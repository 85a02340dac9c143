"""Handlers of the public API under /v2/{endpoint_id}/: parse, call the store, render.

Auth, endpoint lookup, the rate-limit gate and faults are done before these run (emulator.app).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from aiohttp import web

from emulator.app_keys import EMULATOR
from emulator.config import RUN_BODY_LIMIT, RUNSYNC_BODY_LIMIT
from emulator.errors import NotFound
from emulator.models import Job
from emulator.runtime import Endpoint
from emulator.wire import (
    WAIT_RANGE_MS,
    parse_job_request,
    query_ms,
    read_json,
    reply,
    reply_bytes,
    wait_for_change,
)

RUNSYNC_DEFAULT_WAIT_MS = 90_000  # doc
STATUS_SYNC_DEFAULT_WAIT_MS = 90_000  # emulator's choice, as runsync
STREAM_DEFAULT_WAIT_MS = 10_000  # docs/api-behaviour.md §4 (mcp): the server holds an empty /stream 10 s
TTL_QUERY_RANGE_MS = (0, 7 * 86_400_000)


_openapi_cache: list[bytes] = []


async def openapi_document(request: web.Request) -> web.Response:
    """`GET /openapi.json`, no key: emulator/openapi.json as is (kept by the reliability room), read once found."""
    if not _openapi_cache:
        try:
            _openapi_cache.append(resources.files("emulator").joinpath("openapi.json").read_bytes())
        except FileNotFoundError:
            raise NotFound(
                "this emulator has no OpenAPI document (emulator/openapi.json is missing)"
            ) from None
    return reply_bytes(_openapi_cache[0])


def _endpoint(request: web.Request) -> Endpoint:
    return request.app[EMULATOR].endpoint(request.match_info["endpoint_id"])


def _job(request: web.Request) -> tuple[Endpoint, Job]:
    endpoint = _endpoint(request)
    return endpoint, endpoint.jobs.get(request.match_info["job_id"])


async def run(request: web.Request) -> web.Response:
    endpoint = _endpoint(request)
    job_request = parse_job_request(await read_json(request, RUN_BODY_LIMIT))
    job = _submit(endpoint, job_request, "run")
    # Hot path: ids are UUID text, so the reply is formatted rather than encoded (same bytes).
    return reply_bytes(b'{"id": "%s", "status": "%s"}' % (job.id.encode(), job.status.value.encode()))


async def runsync(request: web.Request) -> web.Response:
    endpoint = _endpoint(request)
    wait_ms = query_ms(request.query, "wait", RUNSYNC_DEFAULT_WAIT_MS, WAIT_RANGE_MS)
    job_request = parse_job_request(await read_json(request, RUNSYNC_BODY_LIMIT))
    job = _submit(endpoint, job_request, "runsync")
    await _hold_until_final(request, job, wait_ms)
    return reply_bytes(job.status_bytes())


def _submit(endpoint: Endpoint, job_request: Any, source: str) -> Job:
    return endpoint.jobs.submit(
        job_request.input,
        source=source,
        webhook=job_request.webhook,
        execution_timeout_s=job_request.execution_timeout_s,
        ttl_s=job_request.ttl_s,
        low_priority=job_request.low_priority,
    )


async def _hold_until_final(request: web.Request, job: Job, wait_ms: int | None) -> None:
    clock = request.app[EMULATOR].clock
    deadline = clock.now() + (wait_ms or 0) / 1000
    jobs = _endpoint(request).jobs
    while not job.is_final and jobs.jobs.get(job.id) is job:
        remaining = deadline - clock.now()
        if remaining <= 0:
            break
        await wait_for_change(clock, job, remaining)


async def status(request: web.Request) -> web.Response:
    endpoint, job = _job(request)
    ttl_ms = query_ms(request.query, "ttl", None, TTL_QUERY_RANGE_MS)
    if ttl_ms is not None:
        endpoint.jobs.set_ttl(job, ttl_ms / 1000)
    return reply_bytes(job.status_bytes())


async def status_sync(request: web.Request) -> web.Response:
    _, job = _job(request)
    wait_ms = query_ms(request.query, "wait", STATUS_SYNC_DEFAULT_WAIT_MS, WAIT_RANGE_MS)
    await _hold_until_final(request, job, wait_ms)
    return reply_bytes(job.status_bytes())


async def stream(request: web.Request) -> web.Response:
    endpoint, job = _job(request)
    wait_ms = query_ms(request.query, "wait", STREAM_DEFAULT_WAIT_MS, WAIT_RANGE_MS) or 0
    clock = request.app[EMULATOR].clock
    deadline = clock.now() + wait_ms / 1000
    while not job.has_chunks and not job.stream_done and endpoint.jobs.jobs.get(job.id) is job:
        remaining = deadline - clock.now()
        if remaining <= 0:
            break
        await wait_for_change(clock, job, remaining)
    chunks = [{"output": chunk} for chunk in job.take_chunks()]
    return reply({"status": job.status.value, "stream": chunks})


async def cancel(request: web.Request) -> web.Response:
    endpoint, job = _job(request)
    return reply_bytes(endpoint.jobs.cancel(job).status_bytes())


async def retry(request: web.Request) -> web.Response:
    endpoint, job = _job(request)
    endpoint.jobs.retry(job)
    return reply({"id": job.id, "status": job.status.value})


async def purge_queue(request: web.Request) -> web.Response:
    removed = _endpoint(request).jobs.purge()
    return reply({"removed": removed, "status": "completed"})


HEALTH = (
    '{"jobs": {"completed": %d, "failed": %d, "inProgress": %d, "inQueue": %d, "retried": %d}, '
    '"workers": {"idle": %d, "initializing": %d, "ready": %d, "running": %d, "throttled": %d, "unhealthy": %d}}'
)


async def health(request: web.Request) -> web.Response:
    endpoint = _endpoint(request)
    jobs, workers = endpoint.jobs.health_jobs(), endpoint.pool.health()
    # Hot path: a template of ints is about 6 us cheaper than json.dumps, with the same bytes.
    return reply_bytes((HEALTH % (*jobs.values(), *workers.values())).encode())


async def requests(request: web.Request) -> web.Response:
    """Recent jobs, newest first (the real shape is undocumented; this one is the emulator's)."""
    emulator = request.app[EMULATOR]
    endpoint = _endpoint(request)
    offset = emulator.clock.wall() - emulator.clock.now()
    now = emulator.clock.now()
    items = [
        {
            "id": j.id,
            "status": j.status.value,
            "source": j.source,
            "createdAt": round(j.created + offset, 3),
            "delayTime": j.delay_ms,
            "executionTime": j.execution_ms,
        }
        for j in endpoint.jobs.recent()
        if j.expires_at > now
    ]
    return reply({"requests": items})

"""The control API under /_emulator/ (admin key): reset, endpoint config, faults, jobs, stats, clock, webhooks."""

from __future__ import annotations

import hmac
import math
from typing import Any

from aiohttp import web

from emulator.app_keys import EMULATOR
from emulator.backends.llm import LlmBackend
from emulator.clock import ManualClock
from emulator.config import ConfigError
from emulator.errors import BadRequest, Conflict, Unauthorized
from emulator.faults import Faults
from emulator.models import JobStatus
from emulator.wire import read_json, reply

CONTROL_BODY_LIMIT = 1024 * 1024
EP = "/_emulator/endpoints/{endpoint_id}"


def check_admin(request: web.Request) -> None:
    header = request.headers.get("Authorization", "")
    given = header[7:].strip() if header[:7].lower() == "bearer " else ""
    expected = request.app[EMULATOR].config.admin_key
    if not given or not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("missing or invalid admin key (Authorization: Bearer ADMIN_KEY)")


async def _body(request: web.Request) -> Any:
    if not request.can_read_body:
        return {}
    return await read_json(request, CONTROL_BODY_LIMIT)


async def reset(request: web.Request) -> web.Response:
    request.app[EMULATOR].reset()
    return reply({"reset": True})


async def list_endpoints(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR]
    return reply({"endpoints": [e.config.redacted() for e in emulator.endpoints.values()]})


async def get_endpoint(request: web.Request) -> web.Response:
    endpoint = request.app[EMULATOR].endpoint(request.match_info["endpoint_id"])
    return reply(endpoint.config.redacted())


async def patch_endpoint(request: web.Request) -> web.Response:
    emulator = request.app[EMULATOR]
    emulator.endpoint(request.match_info["endpoint_id"])
    body = await _body(request)
    if not isinstance(body, dict):
        raise BadRequest("a merge patch must be a JSON object")
    try:
        config = emulator.patch(request.match_info["endpoint_id"], body)
    except ConfigError as exc:
        raise BadRequest(str(exc)) from None
    return reply(config.redacted())


async def list_jobs(request: web.Request) -> web.Response:
    status = request.query.get("status")
    if status is not None and status not in JobStatus.__members__:
        raise BadRequest(f"unknown status {status!r}; one of {', '.join(JobStatus.__members__)}")
    jobs = request.app[EMULATOR].job_list(request.match_info["endpoint_id"], status)
    return reply({"jobs": jobs})


async def stats(request: web.Request) -> web.Response:
    return reply(request.app[EMULATOR].stats(request.match_info["endpoint_id"]))


async def get_faults(request: web.Request) -> web.Response:
    endpoint = request.app[EMULATOR].endpoint(request.match_info["endpoint_id"])
    return reply(endpoint.dice.faults.as_dict())


async def put_faults(request: web.Request) -> web.Response:
    endpoint = request.app[EMULATOR].endpoint(request.match_info["endpoint_id"])
    try:
        endpoint.dice.faults = Faults.from_body(await _body(request))
    except ConfigError as exc:
        raise BadRequest(str(exc)) from None
    return reply(endpoint.dice.faults.as_dict())


async def limits(request: web.Request) -> web.Response:
    """The gate's view of an endpoint's limits (budgets, in flight, accepted/rejected counts)."""
    with_accepts = request.query.get("accepts", "0") not in ("", "0", "false")
    return reply(
        request.app[EMULATOR].limits_view(request.match_info["endpoint_id"], with_accepts=with_accepts)
    )


async def get_clock(request: web.Request) -> web.Response:
    clock = request.app[EMULATOR].clock
    return reply({"now": clock.now(), "wall": clock.wall(), "manual": isinstance(clock, ManualClock)})


async def advance_clock(request: web.Request) -> web.Response:
    clock = request.app[EMULATOR].clock
    if not isinstance(clock, ManualClock):
        raise Conflict("the clock is real; start the emulator with --clock manual to advance it")
    body = await _body(request)
    seconds = body.get("seconds") if isinstance(body, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise BadRequest('body must be {"seconds": S} with S >= 0')
    # One-second slices let woken coroutines (webhook retries, long-polls) re-arm inside the span.
    await clock.advance_and_settle(float(seconds), steps=min(1000, max(1, math.ceil(seconds))))
    return reply({"now": clock.now(), "manual": True})


async def batches(request: web.Request) -> web.Response:
    """An `llm` endpoint's batch occupancy: each change of a worker's sequence count, on the clock."""
    endpoint = request.app[EMULATOR].endpoint(request.match_info["endpoint_id"])
    backend = endpoint.pool.backend
    rows = backend.batches.rows() if isinstance(backend, LlmBackend) else []
    clock = request.app[EMULATOR].clock
    return reply(
        {
            "now": clock.now(),
            "wall": clock.wall(),
            "max_concurrency": endpoint.config.jobs_per_worker,
            "columns": ["t", "worker", "batch"],
            "rows": rows,
        }
    )


async def token_schedule(request: web.Request) -> web.Response:
    """Debug: every token's due time and the time it was emitted, once recording is on (PUT)."""
    endpoint = request.app[EMULATOR].endpoint(request.match_info["endpoint_id"])
    backend = endpoint.pool.backend
    table = backend.token_schedule if isinstance(backend, LlmBackend) else None
    clock = request.app[EMULATOR].clock
    return reply(
        {
            "now": clock.now(),
            "wall": clock.wall(),
            "recording": table is not None,
            "columns": ["job", "index", "due", "emitted"],
            "rows": table.rows() if table is not None else [],
        }
    )


async def record_token_schedule(request: web.Request) -> web.Response:
    endpoint = request.app[EMULATOR].endpoint(request.match_info["endpoint_id"])
    backend = endpoint.pool.backend
    body = await _body(request)
    record = body.get("record") if isinstance(body, dict) else None
    if not isinstance(record, bool):
        raise BadRequest('body must be {"record": true} or {"record": false}')
    if not isinstance(backend, LlmBackend):
        raise Conflict("the endpoint has no llm settings: it schedules no tokens")
    backend.record_tokens(record)
    return reply({"recording": record})


async def webhooks(request: web.Request) -> web.Response:
    return reply({"deliveries": list(request.app[EMULATOR].webhooks.deliveries)})


def add_routes(app: web.Application) -> None:
    app.router.add_routes(
        [
            web.post("/_emulator/reset", reset),
            web.get("/_emulator/endpoints", list_endpoints),
            web.get(EP, get_endpoint),
            web.patch(EP, patch_endpoint),
            web.get(f"{EP}/jobs", list_jobs),
            web.get(f"{EP}/stats", stats),
            web.get(f"{EP}/faults", get_faults),
            web.put(f"{EP}/faults", put_faults),
            web.get(f"{EP}/limits", limits),
            web.get(f"{EP}/batches", batches),
            web.get(f"{EP}/token_schedule", token_schedule),
            web.put(f"{EP}/token_schedule", record_token_schedule),
            web.get("/_emulator/clock", get_clock),
            web.post("/_emulator/clock/advance", advance_clock),
            web.get("/_emulator/webhooks", webhooks),
        ]
    )

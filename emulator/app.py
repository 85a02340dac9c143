"""The aiohttp application: route table, the one middleware (auth, gate, faults, JSON errors), lifecycle.

Order of checks on /v2 requests: auth (401) -> route and endpoint (404/405) -> rate-limit gate (429)
-> injected faults -> body (400, in the handler) -> handler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from emulator import api, control, openai
from emulator.clock import Clock
from emulator.config import RUNSYNC_BODY_LIMIT, EmulatorConfig
from emulator.errors import (
    ApiError,
    InjectedFault,
    MethodNotAllowed,
    NotFound,
    Unauthorized,
)
from emulator.faults import FaultDice
from emulator.keys import EMULATOR
from emulator.limiting import GateFactory
from emulator.runtime import Emulator
from emulator.wire import JSON_HEADERS

LOG = logging.getLogger("emulator")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
V2 = "/v2/{endpoint_id}"
JOB = "{job_id}"

# (method, path, handler, operation name for the rate-limit gate)
PUBLIC_ROUTES: list[tuple[str, str, Handler, str]] = [
    # aiohttp tries resources in order: the busiest routes come first.
    ("POST", f"{V2}/run", api.run, "run"),
    ("GET", f"{V2}/status/{JOB}", api.status, "status"),
    ("POST", f"{V2}/status/{JOB}", api.status, "status"),
    ("GET", f"{V2}/health", api.health, "health"),
    ("POST", f"{V2}/runsync", api.runsync, "runsync"),
    ("GET", f"{V2}/stream/{JOB}", api.stream, "stream"),
    ("POST", f"{V2}/stream/{JOB}", api.stream, "stream"),
    ("GET", f"{V2}/status-sync/{JOB}", api.status_sync, "status_sync"),
    ("POST", f"{V2}/status-sync/{JOB}", api.status_sync, "status_sync"),
    ("POST", f"{V2}/cancel/{JOB}", api.cancel, "cancel"),
    ("POST", f"{V2}/retry/{JOB}", api.retry, "retry"),
    ("POST", f"{V2}/purge-queue", api.purge_queue, "purge_queue"),
    ("GET", f"{V2}/requests", api.requests, "requests"),
    ("POST", f"{V2}/openai/v1/chat/completions", openai.chat_completions, "openai"),
    ("POST", f"{V2}/openai/v1/completions", openai.completions, "openai"),
    ("GET", f"{V2}/openai/v1/models", openai.models, "openai"),
]
OPERATION: dict[Handler, str] = {handler: op for _, _, handler, op in PUBLIC_ROUTES}
CONTROL_PREFIX = "/_emulator"


def _key_from(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else header.strip()


def _render(error: ApiError) -> web.Response:
    return web.Response(body=error.render(), status=error.status, headers={**JSON_HEADERS, **error.headers})


def _from_http_exception(exc: web.HTTPException) -> ApiError:
    if exc.status == 404:
        return NotFound("no such route")
    if exc.status == 405:
        return MethodNotAllowed("method not allowed on this route")
    error = ApiError(exc.reason)
    error.status = exc.status
    return error


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    emulator = request.app[EMULATOR]
    endpoint = None
    try:
        if request.path.startswith("/v2/"):
            key = _key_from(request)
            if not key or key not in emulator.all_keys:
                raise Unauthorized("missing or invalid API key")
            operation = OPERATION.get(request.match_info.handler)
            if operation is None:
                return await handler(request)  # unknown route or method: 404/405 below
            endpoint = emulator.endpoint(request.match_info["endpoint_id"])
            if key not in endpoint.keys:
                raise Unauthorized("missing or invalid API key for this endpoint")
            admission = emulator.gate.admit(endpoint.config.id, operation, emulator.clock.now())
            try:
                if endpoint.dice.active:
                    await _faults(request, emulator.clock, endpoint.dice)
                response = await handler(request)
                extra = getattr(admission, "headers", None)  # e.g. IETF RateLimit headers, when on
                if extra and not response.prepared:
                    response.headers.update(extra)
                return response
            finally:
                admission.release()
        if request.path.startswith(CONTROL_PREFIX):
            control.check_admin(request)
        return await handler(request)
    except ApiError as error:
        if endpoint is not None:
            endpoint.jobs.stats.rejected[error.status] += 1
        return _render(error)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _render(_from_http_exception(exc))
    except (asyncio.CancelledError, ConnectionError):
        raise
    except Exception:  # a bug of ours: still a JSON reply, and the traceback goes to the log
        LOG.exception("unhandled error on %s %s", request.method, request.path)
        return _render(ApiError("internal error in the emulator (see its log)"))


async def _faults(request: web.Request, clock: Clock, dice: FaultDice) -> None:
    delay = dice.request_delay_s()
    if delay > 0:
        await clock.sleep(delay)
    if dice.roll(dice.faults.drop_connection_rate):
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError  # nothing can be sent on an aborted connection
    if dice.roll(dice.faults.error_rate):
        raise InjectedFault(dice.faults.error_status)


def create_app(
    config: EmulatorConfig,
    clock: Clock,
    *,
    rate_limits: bool = True,
    gate_factory: GateFactory | None = None,
) -> web.Application:
    """The emulator as an aiohttp app; the caller runs it (web.run_app, AppRunner or a test client)."""
    emulator = Emulator(config, clock, rate_limits=rate_limits, gate_factory=gate_factory)
    # Our own bounded reader refuses big bodies with the documented 400; this is only a backstop.
    app = web.Application(middlewares=[middleware], client_max_size=RUNSYNC_BODY_LIMIT + 1)
    app[EMULATOR] = emulator
    for method, path, handler, _ in PUBLIC_ROUTES:
        app.router.add_route(method, path, handler)
    control.add_routes(app)
    app.router.add_get("/openapi.json", api.openapi_document)
    app.cleanup_ctx.append(_lifecycle)
    return app


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[EMULATOR].webhooks.close()

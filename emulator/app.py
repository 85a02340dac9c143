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
from emulator.app_keys import EMULATOR
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
from emulator.limits import GateFactory, build_gate, no_limits
from emulator.operations import ROUTES
from emulator.runtime import Emulator
from emulator.wire import JSON_HEADERS
from emulator.worker_processes import routes as worker_routes
from emulator.worker_processes.host import WorkerHost

LOG = logging.getLogger("emulator")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# The handler of each public route (`emulator.operations.ROUTES` names its methods and operation).
HANDLERS: dict[str, Handler] = {
    "run": api.run,
    "status/{job_id}": api.status,
    "health": api.health,
    "runsync": api.runsync,
    "stream/{job_id}": api.stream,
    "status-sync/{job_id}": api.status_sync,
    "cancel/{job_id}": api.cancel,
    "retry/{job_id}": api.retry,
    "purge-queue": api.purge_queue,
    "requests": api.requests,
    "openai/v1/chat/completions": openai.chat_completions,
    "openai/v1/completions": openai.completions,
    "openai/v1/models": openai.models,
}
# The gate's operation for a matched handler (the middleware's one lookup per request).
OPERATION: dict[Handler, str] = {HANDLERS[route.path]: route.operation for route in ROUTES}
CONTROL_PREFIX = "/_emulator"


def _key_from(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else header.strip()


def _render(error: ApiError) -> web.Response:
    return web.Response(body=error.render(), status=error.status, headers={**JSON_HEADERS, **error.headers})


def _from_http_exception(exc: web.HTTPException) -> ApiError:
    if exc.status == 404:
        return NotFound("no such route")
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(exc.allowed_methods))
        # RFC 9110 §15.5.6: a 405 lists the route's methods in Allow.
        return MethodNotAllowed(
            f"method {exc.method} not allowed on this route; allowed: {allowed}", headers={"Allow": allowed}
        )
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
                extra = admission.headers  # e.g. IETF RateLimit headers, when on
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
    worker_host: WorkerHost | None = None,
) -> web.Application:
    """The emulator as an aiohttp app; the caller runs it (web.run_app, AppRunner or a test client).

    The rate-limit gate is `emulator.limits.build_gate`, or `no_limits` when `rate_limits` is
    false; a test may hand in its own `gate_factory` instead (limits on).
    """
    if gate_factory is not None and not rate_limits:
        raise ValueError("a gate_factory is a gate: leave rate_limits on")
    gate = gate_factory or (build_gate if rate_limits else no_limits)
    emulator = Emulator(config, clock, gate_factory=gate, worker_host=worker_host)
    # Our own bounded reader refuses big bodies with the documented 400; this is only a backstop.
    app = web.Application(middlewares=[middleware], client_max_size=RUNSYNC_BODY_LIMIT + 1)
    app[EMULATOR] = emulator
    for route in ROUTES:
        for method in route.methods:
            app.router.add_route(method, route.full_path, HANDLERS[route.path])
    control.add_routes(app)
    worker_routes.add_routes(app)
    app.router.add_get("/openapi.json", api.openapi_document, allow_head=False)  # as documented: GET
    app.cleanup_ctx.append(_lifecycle)
    return app


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[EMULATOR].close()
    await app[EMULATOR].webhooks.close()

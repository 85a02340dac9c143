"""The worker-side routes a RunPod worker's SDK loop calls (`/_worker/...`: outside `/v2`, so no
public route can collide and the public rate-limit gate never sees them), and the control API's
view of the worker processes (`/_emulator/endpoints/{id}/workers`).

Worker routes answer only loopback peers that present their worker's own token (it travels in
the job URLs the SDK reads from its environment, as the platform's own query string does).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from aiohttp import web

from emulator.app_keys import EMULATOR
from emulator.config import RUNSYNC_BODY_LIMIT
from emulator.errors import ApiError, BadRequest, BodyTooLarge, NotFound, Unauthorized
from emulator.models import Job
from emulator.wire import read_json, reply
from emulator.worker_processes.backend import ProcessBackend
from emulator.worker_processes.channel import ProcessWorker
from emulator.worker_processes.host import WORKER_PREFIX

W = WORKER_PREFIX + "/{endpoint_id}"
MAX_BATCH = 256


class NotLoopback(ApiError):
    status = 403


def _backend(request: web.Request) -> ProcessBackend:
    backend = request.app[EMULATOR].endpoint(request.match_info["endpoint_id"]).pool.backend
    if not isinstance(backend, ProcessBackend):
        raise NotFound("this endpoint runs no worker processes")
    return backend


def _worker(request: web.Request) -> tuple[ProcessBackend, ProcessWorker]:
    remote = request.remote or ""
    try:
        loopback = ipaddress.ip_address(remote.split("%")[0]).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise NotLoopback("worker routes answer loopback peers only")
    backend = _backend(request)
    pw = backend.authorised(request.match_info["worker_id"], request.query.get("token", ""))
    if pw is None:
        raise Unauthorized("unknown worker or token")
    return backend, pw


def _payload(job: Job) -> dict[str, Any]:
    return {"id": job.id, "input": job.input}


async def _send_jobs(
    request: web.Request, backend: ProcessBackend, pw: ProcessWorker, jobs: list[Job], body: Any
) -> web.StreamResponse:
    if not jobs:
        return web.Response(status=204)
    response = reply(body)
    try:
        await response.prepare(request)
        await response.write_eof()
    except (ConnectionError, RuntimeError):
        backend.lost_in_transit(pw, jobs)
    return response


async def job_take(request: web.Request) -> web.StreamResponse:
    backend, pw = _worker(request)
    jobs = await backend.take(pw, 1)
    return await _send_jobs(request, backend, pw, jobs, _payload(jobs[0]) if jobs else None)


async def job_take_batch(request: web.Request) -> web.StreamResponse:
    backend, pw = _worker(request)
    try:
        wanted = int(request.query.get("batch_size", "1"))
    except ValueError:
        raise BadRequest("batch_size must be an integer") from None
    jobs = await backend.take(pw, min(max(wanted, 1), MAX_BATCH))
    return await _send_jobs(request, backend, pw, jobs, [_payload(job) for job in jobs])


async def job_stop(request: web.Request) -> web.StreamResponse:
    backend, pw = _worker(request)
    ids = await backend.stop_signals(pw)
    return reply({"jobsToStop": ids}) if ids else web.Response(status=204)


async def _worker_body(request: web.Request, backend: ProcessBackend, pw: ProcessWorker) -> Any:
    # The SDK sends JSON text with a form content type (runpod-python rp_http.py): read it as JSON.
    try:
        return await read_json(request, RUNSYNC_BODY_LIMIT)
    except BodyTooLarge:
        backend.result_too_large(pw, request.match_info["job_id"], RUNSYNC_BODY_LIMIT)
        raise


async def job_done(request: web.Request) -> web.Response:
    backend, pw = _worker(request)
    backend.done(pw, request.match_info["job_id"], await _worker_body(request, backend, pw))
    return reply({})


async def job_stream(request: web.Request) -> web.Response:
    backend, pw = _worker(request)
    backend.stream(pw, request.match_info["job_id"], await _worker_body(request, backend, pw))
    return reply({})


async def workers(request: web.Request) -> web.Response:
    """Every worker of the endpoint; with `?logs=1`, each process worker's stdout/stderr too."""
    emulator = request.app[EMULATOR]
    endpoint = emulator.endpoint(request.match_info["endpoint_id"])
    backend = endpoint.pool.backend
    body: dict[str, Any] = {"endpoint": endpoint.config.id, "backend": backend.kind}
    if isinstance(backend, ProcessBackend):
        info = emulator.worker_host.info.get(backend.worker_file)
        body["worker_file"] = backend.worker_file
        body["runpod_version"] = info.runpod_version if info is not None else None
        body["workers"] = backend.describe()
        if request.query.get("logs", "0") not in ("", "0", "false"):
            body["logs"] = backend.all_logs()
    else:
        body["workers"] = [{"id": w.id, "state": w.state} for w in endpoint.pool.workers]
    return reply(body)


async def worker_logs(request: web.Request) -> web.Response:
    logs = _backend(request).logs(request.match_info["worker_id"])
    if logs is None:
        raise NotFound(f"no worker {request.match_info['worker_id']!r} on this endpoint")
    return reply(logs)


def add_routes(app: web.Application) -> None:
    app.router.add_routes(
        [
            web.get(f"{W}/job-take/{{worker_id}}", job_take),
            web.get(f"{W}/job-take-batch/{{worker_id}}", job_take_batch),
            web.get(f"{W}/job-stop/{{worker_id}}", job_stop),
            web.post(f"{W}/job-done/{{worker_id}}/{{job_id}}", job_done),
            web.post(f"{W}/job-stream/{{worker_id}}/{{job_id}}", job_stream),
            web.get("/_emulator/endpoints/{endpoint_id}/workers", workers),
            web.get("/_emulator/endpoints/{endpoint_id}/workers/{worker_id}/logs", worker_logs),
        ]
    )

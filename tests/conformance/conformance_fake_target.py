"""A small server that speaks the endpoint API on loopback and is not the emulator.

It proves the suite judges any such server: jobs run on two simulated workers, in real time
sped up `SPEED` times (a job asking to sleep 1 s takes 0.1 s but reports executionTime 1000).
No control API, no webhooks, no ttl: the suite must give a verdict all the same.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from threaded_app import ThreadedApp

SPEED = 10.0
STREAM_SPEED = 2.0
"""Chunks come slower, so a reader polling every quarter second sees them arrive one by one."""
WORKERS = 2
MIB = 2**20
LIMITS = {"run": 10 * MIB, "runsync": 20 * MIB}
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}


def now() -> float:
    return time.perf_counter()


@dataclass
class Job:
    id: str
    input: Any
    queued_at: float
    started_at: float | None = None
    ended: str | None = None
    ended_at: float | None = None
    drained: int = 0
    chunks: list[Any] = field(default_factory=list)

    @property
    def nominal_s(self) -> float:
        data = self.input if isinstance(self.input, dict) else {}
        sleep = float(data.get("sleep", 0))
        if "stream" in data:
            return sleep * len(data["stream"]) * SPEED / STREAM_SPEED
        return sleep

    def finish_at(self) -> float | None:
        return None if self.started_at is None else self.started_at + self.nominal_s / SPEED


class Endpoint:
    def __init__(self, endpoint_id: str, api_key: str, echo_key: bool = False) -> None:
        self.endpoint_id, self.api_key, self.echo_key = endpoint_id, api_key, echo_key
        self.jobs: dict[str, Job] = {}
        self.queue: list[str] = []
        self.running: list[str] = []
        self.counts = {"completed": 0, "failed": 0, "retried": 0}

    def tick(self) -> None:
        t = now()
        for job_id in list(self.running):
            job = self.jobs[job_id]
            end = job.finish_at()
            if end is not None and end <= t:
                self._end(job, end)
        while self.queue and len(self.running) < WORKERS:
            job = self.jobs[self.queue.pop(0)]
            job.started_at = t
            self.running.append(job.id)
            if job.nominal_s == 0:
                self._end(job, t)

    def _end(self, job: Job, at: float) -> None:
        self.running.remove(job.id)
        data = job.input if isinstance(job.input, dict) else {}
        job.ended = "FAILED" if "fail" in data else "COMPLETED"
        job.ended_at = at
        self.counts["failed" if job.ended == "FAILED" else "completed"] += 1

    def view(self, job: Job) -> dict[str, Any]:
        data = job.input if isinstance(job.input, dict) else {}
        if job.started_at is None:
            return {"id": job.id, "status": job.ended or "IN_QUEUE"}
        body: dict[str, Any] = {
            "id": job.id,
            "delayTime": int((job.started_at - job.queued_at) * 1000),
            "workerId": "fake-worker",
        }
        if job.ended is None:
            return {**body, "status": "IN_PROGRESS"}
        body.update(status=job.ended, executionTime=int(job.nominal_s * 1000))
        if job.ended == "FAILED":
            body["error"] = str(data["fail"])
        elif job.ended == "COMPLETED":
            body["output"] = (
                data.get("output", data.get("stream", job.input))
                if isinstance(job.input, dict)
                else job.input
            )
        return body

    def stream_items(self, job: Job) -> list[dict[str, Any]]:
        data = job.input if isinstance(job.input, dict) else {}
        chunks = data.get("stream", [])
        step = float(data.get("sleep", 0)) / STREAM_SPEED
        ready = 0
        if job.started_at is not None and job.ended != "CANCELLED":
            ready = (
                len(chunks)
                if job.ended
                else min(len(chunks), int((now() - job.started_at) / step) if step else len(chunks))
            )
        items = []
        for chunk in chunks[job.drained : ready]:
            if isinstance(chunk, str) and len(chunk) > MIB:
                items += [{"output": chunk[i : i + MIB]} for i in range(0, len(chunk), MIB)]
            else:
                items.append({"output": chunk})
        job.drained = max(job.drained, ready)
        return items


def make_app(endpoint: Endpoint) -> web.Application:
    def reply(status: int, body: Any) -> web.Response:
        return web.json_response(body, status=status)

    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        key = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if key != endpoint.api_key:
            return reply(401, {"error": "unauthorized"})
        if request.match_info.get("eid") != endpoint.endpoint_id:
            if endpoint.echo_key:  # a careless server: 400 and the caller's key in the message
                return reply(400, {"error": f"no endpoint {request.match_info.get('eid')} for key {key}"})
            return reply(404, {"error": "unknown endpoint"})
        endpoint.tick()
        response: web.StreamResponse = await handler(request)
        return response

    async def submit(request: web.Request) -> web.Response:
        op = request.path.rsplit("/", 1)[-1]
        raw = await request.read()
        if len(raw) > LIMITS[op]:
            return reply(400, {"error": f"body over {LIMITS[op] // MIB}MiB"})
        try:
            body = json.loads(raw)
        except ValueError:
            return reply(400, {"error": "not JSON"})
        if not isinstance(body, dict) or body.get("input") is None:
            return reply(400, {"error": "'input' is required"})
        if not isinstance(body.get("policy", {}), dict) or not isinstance(body.get("webhook", ""), str):
            return reply(400, {"error": "bad policy or webhook"})
        job = Job(("sync-" if op == "runsync" else "") + str(uuid.uuid4()), body["input"], now())
        endpoint.jobs[job.id] = job
        endpoint.queue.append(job.id)
        endpoint.tick()
        if op == "run":
            return reply(200, {"id": job.id, "status": "IN_QUEUE"})
        wait_s = float(request.query.get("wait", 90000)) / 1000 / SPEED
        deadline = now() + wait_s
        while job.ended is None and now() < deadline:
            await asyncio.sleep(0.01)
            endpoint.tick()
        return reply(200, endpoint.view(job))

    def job_of(request: web.Request) -> Job | None:
        return endpoint.jobs.get(request.match_info["job"])

    async def status(request: web.Request) -> web.Response:
        job = job_of(request)
        return reply(404, {"error": "no such job"}) if job is None else reply(200, endpoint.view(job))

    async def stream(request: web.Request) -> web.Response:
        job = job_of(request)
        if job is None:
            return reply(404, {"error": "no such job"})
        return reply(200, {"status": endpoint.view(job)["status"], "stream": endpoint.stream_items(job)})

    async def cancel(request: web.Request) -> web.Response:
        job = job_of(request)
        if job is None:
            return reply(404, {"error": "no such job"})
        if job.ended is None:
            if job.id in endpoint.queue:
                endpoint.queue.remove(job.id)
            if job.id in endpoint.running:
                endpoint.running.remove(job.id)
            job.ended, job.ended_at = "CANCELLED", now()
        return reply(200, {"id": job.id, "status": job.ended})

    async def retry(request: web.Request) -> web.Response:
        job = job_of(request)
        if job is None:
            return reply(404, {"error": "no such job"})
        if job.ended not in ("FAILED", "TIMED_OUT"):
            return reply(400, {"error": "only failed jobs can be retried"})
        job.ended = job.started_at = job.ended_at = None
        job.queued_at = now()
        endpoint.queue.append(job.id)
        endpoint.counts["retried"] += 1
        return reply(200, {"id": job.id, "status": "IN_QUEUE"})

    async def purge(request: web.Request) -> web.Response:
        removed = len(endpoint.queue)
        for job_id in endpoint.queue:
            endpoint.jobs[job_id].ended = "CANCELLED"
        endpoint.queue.clear()
        return reply(200, {"removed": removed, "status": "completed"})

    async def health(request: web.Request) -> web.Response:
        running = len(endpoint.running)
        return reply(
            200,
            {
                "jobs": {**endpoint.counts, "inProgress": running, "inQueue": len(endpoint.queue)},
                "workers": {
                    "idle": WORKERS - running,
                    "initializing": 0,
                    "ready": WORKERS - running,
                    "running": running,
                    "throttled": 0,
                    "unhealthy": 0,
                },
            },
        )

    app = web.Application(middlewares=[guard], client_max_size=32 * MIB)
    base = "/v2/{eid}"
    app.add_routes(
        [
            web.post(f"{base}/run", submit),
            web.post(f"{base}/runsync", submit),
            web.get(f"{base}/status/{{job}}", status),
            web.post(f"{base}/status/{{job}}", status),
            web.get(f"{base}/stream/{{job}}", stream),
            web.post(f"{base}/cancel/{{job}}", cancel),
            web.post(f"{base}/retry/{{job}}", retry),
            web.post(f"{base}/purge-queue", purge),
            web.get(f"{base}/health", health),
        ]
    )
    return app


class FakeTarget:
    """Runs the fake server on 127.0.0.1:0 in a thread of its own."""

    def __init__(
        self, endpoint_id: str = "fake", api_key: str = "fake-key", *, echo_key: bool = False
    ) -> None:
        self.endpoint = Endpoint(endpoint_id, api_key, echo_key)
        self._server = ThreadedApp(lambda: make_app(self.endpoint), "fake target")

    def __enter__(self) -> FakeTarget:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}/v2"

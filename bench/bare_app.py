"""The bare aiohttp app the emulator is measured against: the emulator's two route shapes, nothing else.

After shared/baselines/servers/aiohttp_app.py (beside the repository): `GET /v2/{endpoint_id}/health` returns a small
JSON; `POST /v2/{endpoint_id}/run` parses the JSON body, stores `{status, input}` under a uuid4 hex
id and returns `{id, status: "IN_QUEUE"}`. No auth, limits, workers or retention. The store keeps
the newest 10,000 jobs (the baselines' GC-tail experiment: an unbounded store ruins p99, and the
emulator bounds its store too). Runs on uvloop when installed, like the emulator.

Usage: python bench/bare_app.py [--port N] [--ready-file PATH] [--parent-pid PID]

It speaks the emulator's process protocol (contract.emulator_process), so the same launcher starts it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from pathlib import Path
from typing import Any

from aiohttp import web

from contract.emulator_process import watch_parent, write_ready_file

MAX_JOBS = 10_000
HEALTH = {"jobs": {"completed": 0, "failed": 0, "inProgress": 0, "inQueue": 0, "retried": 0}}


async def health(request: web.Request) -> web.Response:
    return web.json_response(HEALTH)


async def run(request: web.Request) -> web.Response:
    body = await request.json()
    jobs: dict[str, dict[str, Any]] = request.app[JOBS]
    job_id = uuid.uuid4().hex
    jobs[job_id] = {"status": "IN_QUEUE", "input": body.get("input")}
    if len(jobs) > MAX_JOBS:
        del jobs[next(iter(jobs))]
    return web.json_response({"id": job_id, "status": "IN_QUEUE"})


JOBS = web.AppKey("jobs", dict)


def make_app() -> web.Application:
    app = web.Application()
    app[JOBS] = {}
    app.router.add_get("/v2/{endpoint_id}/health", health)
    app.router.add_post("/v2/{endpoint_id}/run", run)
    return app


async def serve(port: int, ready_file: Path | None, parent_pid: int | None) -> None:
    runner = web.AppRunner(make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = runner.addresses[0][1]
    if ready_file is not None:
        write_ready_file(ready_file, port=bound, host="127.0.0.1", pid=os.getpid())
    stop = asyncio.Event()
    if parent_pid is not None:
        watch_parent(parent_pid, stop)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file", type=Path)
    parser.add_argument("--parent-pid", type=int)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        runner = asyncio.run
    else:
        runner = uvloop.run
    try:
        runner(serve(args.port, args.ready_file, args.parent_pid))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

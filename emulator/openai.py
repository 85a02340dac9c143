"""/v2/{endpoint_id}/openai/v1/...: routed through the queue as jobs (docs/api-behaviour.md §4), answered when done.

The job's input is `{"openai_route": "/v1/...", "openai_input": body}`; a JSON answer is the job's
output; with `"stream": true` the job's chunks (server-sent-event text) are relayed as they come.
On an endpoint with `llm`, a bad request body is refused here, OpenAI-shaped, as the model server
behind the route would refuse it (the emulator's choice: what the real gateway relays is unknown).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from emulator.app_keys import EMULATOR
from emulator.config import RUNSYNC_BODY_LIMIT
from emulator.errors import BadRequest, BodyTooLarge, OpenAiBadRequest, OpenAiWorkerFailed
from emulator.models import Job, JobStatus
from emulator.wire import read_json, reply_bytes, wait_for_change
from worker.llm import LlmError, parse_request

OPENAI_WAIT_S = 300.0  # emulator's choice: the longest documented runsync wait


async def chat_completions(request: web.Request) -> web.StreamResponse:
    return await _relay(request, "/v1/chat/completions")


async def completions(request: web.Request) -> web.StreamResponse:
    return await _relay(request, "/v1/completions")


async def models(request: web.Request) -> web.StreamResponse:
    job = _submit(request, {"openai_route": "/v1/models"})
    return await _answer(request, job)


def _submit(request: web.Request, job_input: dict[str, Any]) -> Job:
    endpoint = request.app[EMULATOR].endpoint(request.match_info["endpoint_id"])
    return endpoint.jobs.submit(job_input, source="openai")


async def _relay(request: web.Request, route: str) -> web.StreamResponse:
    try:
        body = await read_json(request, RUNSYNC_BODY_LIMIT)
    except BodyTooLarge:
        raise
    except BadRequest as exc:
        raise OpenAiBadRequest(exc.message) from None
    if not isinstance(body, dict):
        raise OpenAiBadRequest("an OpenAI request body must be a JSON object")
    job_input = {"openai_route": route, "openai_input": body}
    endpoint = request.app[EMULATOR].endpoint(request.match_info["endpoint_id"])
    if endpoint.config.llm is not None:
        try:
            parse_request(job_input, endpoint.config.llm.model)
        except LlmError as exc:
            raise OpenAiBadRequest(str(exc), param=exc.param) from None
    job = _submit(request, job_input)
    if body.get("stream") is True:
        return await _stream(request, job)
    return await _answer(request, job)


async def _wait(request: web.Request, job: Job, *, for_chunks: bool) -> None:
    clock = request.app[EMULATOR].clock
    deadline = clock.now() + OPENAI_WAIT_S
    while not job.is_final and not (for_chunks and job.has_chunks):
        remaining = deadline - clock.now()
        if remaining <= 0:
            return
        await wait_for_change(clock, job, remaining)


async def _answer(request: web.Request, job: Job) -> web.StreamResponse:
    await _wait(request, job, for_chunks=False)
    if job.status is JobStatus.COMPLETED:
        return reply_bytes(job.output_json or b"null")
    if not job.is_final:
        raise OpenAiWorkerFailed(f"job {job.id} did not finish within {OPENAI_WAIT_S:.0f} s")
    raise OpenAiWorkerFailed(f"job {job.id} ended {job.status.value}: {job.error or 'no output'}")


async def _stream(request: web.Request, job: Job) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    while True:
        await _wait(request, job, for_chunks=True)
        for chunk in job.take_chunks():
            text = chunk if isinstance(chunk, str) else f"data: {json.dumps(chunk)}\n\n"
            await response.write(text.encode())
        if job.is_final or not job.has_chunks and job.stream_done:
            break
        if request.app[EMULATOR].clock.now() - job.created > OPENAI_WAIT_S:
            break
    if job.status is not JobStatus.COMPLETED:
        await response.write(f'data: {{"error": {{"message": "job ended {job.status.value}"}}}}\n\n'.encode())
    await response.write_eof()
    return response

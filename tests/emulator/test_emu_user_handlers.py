"""A user's own handler behind the emulated queue: sync, async, generators, errors, timeouts."""

from __future__ import annotations

import asyncio

import emu_handlers
import pytest
from emu_support import settle


async def poll_final(api, job_id, rounds=300):
    for _ in range(rounds):
        body = await api.status(job_id)
        if body["status"] not in ("IN_QUEUE", "IN_PROGRESS"):
            return body
        await asyncio.sleep(0.005)
    raise AssertionError(f"job {job_id} did not finish: {body}")


@pytest.mark.parametrize("name", ["agen", "gen"])
async def test_generator_handlers_stream_their_yields(make_api, name):
    api = await make_api(handler=f"emu_handlers:{name}")
    job_id = await api.run({"items": ["a", {"b": 1}]})
    body = await poll_final(api, job_id)
    assert body["status"] == "COMPLETED" and body["output"] == ["a", {"b": 1}]
    stream = await api.call("GET", f"stream/{job_id}")
    assert stream == {"status": "COMPLETED", "stream": [{"output": "a"}, {"output": {"b": 1}}]}


async def test_raising_handler_fails_with_the_sdk_style_error(make_api):
    api = await make_api(handler="emu_handlers:boom")
    body = await poll_final(api, await api.run({}))
    assert (
        body["status"] == "FAILED" and "handler exploded" in body["error"] and "ValueError" in body["error"]
    )


async def test_error_dict_fails_with_message_and_rest_as_output(make_api):
    api = await make_api(handler="emu_handlers:error_dict")
    body = await poll_final(api, await api.run({}))
    assert body["status"] == "FAILED" and body["error"] == "told to fail" and body["output"] == {"partial": 1}


async def test_execution_timeout_stops_an_async_handler(make_api):
    api = await make_api(handler="emu_handlers:slow")
    job_id = await api.run({}, policy={"executionTimeout": 5000})
    for _ in range(50):
        await settle()
        if job_id in emu_handlers.STARTED:
            break
    await api.advance(5)
    await settle()
    body = await api.status(job_id)
    assert body["status"] == "FAILED" and body["error"] == "executionTimeout exceeded"
    assert job_id in emu_handlers.CANCELLED


async def test_cancel_stops_an_async_handler(make_api):
    api = await make_api(handler="emu_handlers:slow")
    job_id = await api.run({})
    for _ in range(50):
        await settle()
        if job_id in emu_handlers.STARTED:
            break
    assert (await api.call("POST", f"cancel/{job_id}"))["status"] == "CANCELLED"
    await settle()
    assert job_id in emu_handlers.CANCELLED

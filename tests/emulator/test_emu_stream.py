"""/stream: drained on read, long-polls when empty, ends with COMPLETED + [], splits chunks over 1 MB."""

from __future__ import annotations

import asyncio
import io
import json

from emu_support import settle

from emulator.backends.simulated import CHUNK_LIMIT, split_chunk


async def test_chunks_are_drained_on_read_and_stream_ends_with_empty_completed(make_api):
    api = await make_api()
    job_id = await api.run({"stream": ["a", "b", "c"], "sleep": 1})
    await api.advance(2)
    body = await api.call("GET", f"stream/{job_id}")
    assert body == {"status": "IN_PROGRESS", "stream": [{"output": "a"}, {"output": "b"}]}
    await api.advance(1)
    body = await api.call("POST", f"stream/{job_id}")
    assert body == {"status": "COMPLETED", "stream": [{"output": "c"}]}
    assert await api.call("GET", f"stream/{job_id}") == {"status": "COMPLETED", "stream": []}
    assert (await api.status(job_id))["output"] == ["a", "b", "c"]


async def test_empty_stream_long_polls_until_a_chunk(make_api):
    api = await make_api()
    job_id = await api.run({"stream": ["x"], "sleep": 5})
    call = asyncio.ensure_future(api.call("GET", f"stream/{job_id}"))
    await api.advance(4)
    assert not call.done()
    await api.advance(1)
    assert (await call)["stream"] == [{"output": "x"}]


async def test_empty_stream_holds_10_seconds_by_default_then_answers_empty(make_api):
    api = await make_api()
    job_id = await api.run({"stream": ["x"], "sleep": 60})
    call = asyncio.ensure_future(api.call("GET", f"stream/{job_id}"))
    await api.advance(9.9)
    assert not call.done()
    await api.advance(0.1)
    assert await call == {"status": "IN_PROGRESS", "stream": []}


async def test_stream_wait_query_sets_the_hold(make_api):
    api = await make_api()
    job_id = await api.run({"stream": ["x"], "sleep": 60})
    call = asyncio.ensure_future(api.call("GET", f"stream/{job_id}?wait=2000"))
    await api.advance(2)
    assert (await call)["stream"] == []


async def test_stream_of_a_non_streaming_job_gives_its_output_once(make_api):
    api = await make_api()
    job_id = await api.run({"output": {"k": 1}})
    await settle()
    assert (await api.call("GET", f"stream/{job_id}"))["stream"] == [{"output": {"k": 1}}]
    assert (await api.call("GET", f"stream/{job_id}"))["stream"] == []


async def test_stream_of_a_failed_job_ends_failed_with_stream_key(make_api):
    api = await make_api()
    job_id = await api.run({"fail": "bad"})
    await settle()
    assert await api.call("GET", f"stream/{job_id}") == {"status": "FAILED", "stream": []}


async def test_chunk_over_1mb_is_split(make_api):
    api = await make_api()
    big = "y" * (CHUNK_LIMIT + 10)
    body = await api.call("POST", "run", data=io.BytesIO(json.dumps({"input": {"stream": [big]}}).encode()))
    job_id = body["id"]
    await settle()
    body = await api.call("GET", f"stream/{job_id}")
    pieces = [item["output"] for item in body["stream"]]
    assert len(pieces) == 2 and "".join(pieces) == big
    assert all(len(p.encode()) <= CHUNK_LIMIT for p in pieces)


def test_split_chunk_keeps_small_chunks_and_multibyte_text_whole():
    assert split_chunk({"a": 1}) == [{"a": 1}]
    text = "é" * CHUNK_LIMIT  # 2 MiB of UTF-8
    pieces = split_chunk(text)
    assert "".join(pieces) == text and all(len(p.encode()) <= CHUNK_LIMIT for p in pieces)
    obj = {"k": "z" * (CHUNK_LIMIT + 1)}
    assert "".join(split_chunk(obj)) == '{"k": "' + "z" * (CHUNK_LIMIT + 1) + '"}'


async def test_cancelled_job_stream_reports_cancelled(make_api):
    api = await make_api()
    job_id = await api.run({"stream": ["a"], "sleep": 10})
    await settle()
    await api.call("POST", f"cancel/{job_id}")
    assert await api.call("GET", f"stream/{job_id}") == {"status": "CANCELLED", "stream": []}

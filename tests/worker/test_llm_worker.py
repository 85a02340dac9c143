"""The deployable LLM worker answers as the emulator's `llm` endpoints do (same chunks, same output)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from worker.llm import final_output, model_from_table, parse_request, stream_chunk, token_text
from worker.llm_worker import LlmWorker, model_from_environment
from worker.main import start_config

FAST = model_from_table({"ttft_s": 0.001, "decode_tokens_per_s": 2000, "max_concurrency": 3})


async def collect(worker: LlmWorker, job: dict[str, Any]) -> list[Any]:
    return [item async for item in worker.handler(job)]


async def test_a_run_request_yields_the_emulators_chunks():
    job = {"id": "job-1", "input": {"prompt": "hello", "max_tokens": 3}}
    chunks = await collect(LlmWorker(FAST), job)
    request = parse_request(job["input"])
    assert request is not None
    assert chunks == [stream_chunk(request, "job-1", i, token_text("job-1", i), i == 2) for i in range(3)]
    # return_aggregate_stream makes the output the list of chunks: the emulator's output for the job
    assert chunks == final_output(request, "job-1", [token_text("job-1", i) for i in range(3)])


async def test_openai_streams_end_with_usage_and_done_and_plain_requests_yield_one_answer():
    worker = LlmWorker(FAST)
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    streamed = await collect(
        worker,
        {
            "id": "j",
            "input": {
                "openai_route": "/v1/chat/completions",
                "openai_input": {**body, "stream": True, "stream_options": {"include_usage": True}},
            },
        },
    )
    assert streamed[-1] == "data: [DONE]\n\n"
    assert json.loads(streamed[-2][len("data: ") :])["usage"]["completion_tokens"] == 2
    plain = await collect(
        worker, {"id": "j", "input": {"openai_route": "/v1/chat/completions", "openai_input": body}}
    )
    assert len(plain) == 1 and plain[0]["usage"]["completion_tokens"] == 2


async def test_sequences_run_concurrently_up_to_max_concurrency():
    worker = LlmWorker(FAST)
    assert worker.concurrency(1) == 3
    jobs = [{"id": f"j{i}", "input": {"prompt": "p", "max_tokens": 5}} for i in range(3)]
    results = await asyncio.gather(*(collect(worker, job) for job in jobs))
    assert [len(r) for r in results] == [5, 5, 5] and worker.active == 0


async def test_a_bad_request_fails_the_job_and_other_inputs_follow_the_contract():
    worker = LlmWorker(FAST)
    bad = await collect(worker, {"id": "j", "input": {"prompt": "p", "max_tokens": -1}})
    assert "max_tokens" in bad[0]["error"]
    assert await collect(worker, {"id": "j", "input": {"output": 7}}) == [7]


def test_the_llm_mode_reads_its_settings_from_the_environment():
    config = start_config({"PODBENCH_WORKER_MODE": "llm", "PODBENCH_LLM": '{"max_concurrency": 5}'})
    assert config["concurrency_modifier"](1) == 5 and config["return_aggregate_stream"] is True
    assert model_from_environment({}) == model_from_table({})
    with pytest.raises(SystemExit, match="PODBENCH_LLM"):
        model_from_environment({"PODBENCH_LLM": '{"speed": 1}'})

"""An endpoint with `llm = {...}`: tokens on the clock, continuous batching, OpenAI wire shapes."""

from __future__ import annotations

import json

import pytest
from emu_support import AUTH, settle

from emulator.config import ConfigError, endpoint_from_table
from worker.llm import LlmModel, estimate_tokens, model_from_table

LLM = {"ttft_s": 0.3, "decode_tokens_per_s": 40, "max_concurrency": 4, "batch_slowdown": 0.1}


async def chunk_times(api, job_ids, until_s, step_s=0.005):
    """Advance the manual clock in small steps; the time each job's n-th chunk first appeared."""
    seen: dict[str, list[float]] = {job_id: [] for job_id in job_ids}
    jobs = {job_id: api.emulator.endpoint(api.ep).jobs.jobs[job_id] for job_id in job_ids}
    counts = dict.fromkeys(job_ids, 0)
    elapsed = 0.0
    while elapsed < until_s:
        await api.advance(step_s)
        elapsed += step_s
        for job_id, job in jobs.items():
            total = len(job.chunks or [])
            for _ in range(total - counts[job_id]):
                seen[job_id].append(round(elapsed, 3))
            counts[job_id] = total
    return seen


async def test_a_run_job_streams_one_chunk_per_token_at_the_models_pace(make_api):
    api = await make_api(llm=LLM)
    job_id = await api.run({"prompt": "hello there", "max_tokens": 4})
    times = (await chunk_times(api, [job_id], 0.5))[job_id]
    # first token after ttft_s, then one every 1/40 s (batch of one)
    assert times == pytest.approx([0.3, 0.325, 0.35, 0.375], abs=0.006)
    status = await api.status(job_id)
    assert status["status"] == "COMPLETED"
    assert [chunk["index"] for chunk in status["output"]] == [0, 1, 2, 3]
    assert all(chunk["text"].startswith(" ") for chunk in status["output"])


async def test_sequences_sharing_a_worker_decode_slower(make_api):
    api = await make_api(llm=LLM, workers_max=1)
    first = await api.run({"prompt": "a", "max_tokens": 3})
    second = await api.run({"prompt": "b", "max_tokens": 3})
    times = await chunk_times(api, [first, second], 0.5)
    # A delay is set when it is scheduled: the first job started alone (ttft 0.3), the second joined a
    # batch of two (0.3 * 1.1); every later token of both is 1.1 / 40 s after the one before.
    assert times[first] == pytest.approx([0.3, 0.3275, 0.355], abs=0.006)
    assert times[second] == pytest.approx([0.33, 0.3575, 0.385], abs=0.006)


async def test_a_job_queues_when_every_workers_batch_is_full(make_api):
    api = await make_api(llm={**LLM, "max_concurrency": 2}, workers_max=1, workers_min=1)
    ids = [await api.run({"prompt": "x", "max_tokens": 2}) for _ in range(3)]
    await api.advance(0.01)
    states = [(await api.status(i))["status"] for i in ids]
    assert states == ["IN_PROGRESS", "IN_PROGRESS", "IN_QUEUE"]
    health = await api.call("GET", "health")
    assert health["workers"]["running"] == 1
    await api.advance(0.4, steps=40)
    assert (await api.status(ids[2]))["status"] in ("IN_PROGRESS", "COMPLETED")
    assert (await api.status(ids[2]))["delayTime"] >= 300  # waited for a slot, not for a worker


async def test_openai_chat_stream_sends_a_token_per_event_usage_and_done(make_api):
    api = await make_api(llm=LLM)
    body = {
        "model": "m",
        "messages": [{"role": "user", "content": "12345678"}],
        "max_tokens": 3,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    request = api.client.post(api.url("openai/v1/chat/completions"), json=body, headers=AUTH)
    task = __import__("asyncio").ensure_future(request)
    await settle()
    await api.advance(0.5, steps=50)
    resp = await task
    assert resp.status == 200 and resp.content_type == "text/event-stream"
    events = [e for e in (await resp.text()).split("\n\n") if e]
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(e[len("data: ") :]) for e in events[:-1]]
    tokens = [c for c in chunks if c["choices"]]
    assert len(tokens) == 3 and tokens[0]["choices"][0]["delta"]["role"] == "assistant"
    assert tokens[-1]["choices"][0]["finish_reason"] == "length"
    assert chunks[-1]["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}
    assert all(c["model"] == "m" and c["object"] == "chat.completion.chunk" for c in chunks)


async def test_openai_completion_without_stream_answers_json_with_usage(make_api):
    api = await make_api(llm={**LLM, "output_tokens": 5})
    task = __import__("asyncio").ensure_future(
        api.client.post(api.url("openai/v1/completions"), json={"prompt": "abcd"}, headers=AUTH)
    )
    await settle()
    await api.advance(0.5, steps=50)
    resp = await task
    answer = await resp.json()
    assert resp.status == 200 and answer["object"] == "text_completion"
    assert answer["choices"][0]["finish_reason"] == "stop"  # no max_tokens: the model stopped on its own
    assert answer["usage"] == {"prompt_tokens": 1, "completion_tokens": 5, "total_tokens": 6}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}, "max_tokens"),
        ({"messages": [{"role": "user", "content": "hi"}], "stream": "yes"}, "stream"),
    ],
)
async def test_a_bad_openai_request_gets_an_openai_shaped_400(make_api, body, param):
    api = await make_api(llm=LLM)
    resp = await api.client.post(api.url("openai/v1/chat/completions"), json=body, headers=AUTH)
    assert resp.status == 400
    error = (await resp.json())["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param and error["message"]


async def test_malformed_json_on_an_openai_route_is_openai_shaped(make_api):
    api = await make_api(llm=LLM)
    resp = await api.client.post(api.url("openai/v1/completions"), data=b"{nope", headers=AUTH)
    assert resp.status == 400 and (await resp.json())["error"]["type"] == "invalid_request_error"


async def test_models_lists_the_configured_model(make_api):
    api = await make_api(llm={**LLM, "model": "my-llama"})
    task = __import__("asyncio").ensure_future(api.client.get(api.url("openai/v1/models"), headers=AUTH))
    await settle()
    await api.advance(0.01)
    answer = await (await task).json()
    assert [m["id"] for m in answer["data"]] == ["my-llama"]


def test_llm_settings_are_checked_and_set_the_slots_per_worker():
    config = endpoint_from_table({"id": "e", "llm": {"max_concurrency": 6}})
    assert config.jobs_per_worker == 6 and config.llm == LlmModel(max_concurrency=6)
    with pytest.raises(ConfigError, match="llm.max_concurrency"):
        endpoint_from_table({"id": "e", "llm": {"max_concurrency": 6}, "jobs_per_worker": 2})
    with pytest.raises(ConfigError, match="unknown key 'llm.speed'"):
        endpoint_from_table({"id": "e", "llm": {"speed": 1}})
    with pytest.raises(ConfigError, match="decode_tokens_per_s"):
        endpoint_from_table({"id": "e", "llm": {"decode_tokens_per_s": 0}})


def test_the_models_formulas():
    model = model_from_table({"ttft_s": 0.2, "decode_tokens_per_s": 50, "batch_slowdown": 0.25})
    assert model.first_token_s(1, 100) == pytest.approx(0.2)
    assert model.first_token_s(3, 100) == pytest.approx(0.2 * 1.5)
    assert model.token_interval_s(1) == pytest.approx(0.02)
    assert model.token_interval_s(5) == pytest.approx(0.02 * 2)
    prefill = model_from_table({"ttft_s": 0.1, "prefill_tokens_per_s": 1000})
    assert prefill.first_token_s(1, 500) == pytest.approx(0.6)
    assert estimate_tokens("") == 1 and estimate_tokens("abcde") == 2


async def test_patching_llm_settings_takes_effect_for_new_jobs(make_api):
    api = await make_api(llm=LLM)
    await api.control("PATCH", f"endpoints/{api.ep}", json={"llm": {"ttft_s": 0.1}})
    job_id = await api.run({"prompt": "p", "max_tokens": 1})
    times = (await chunk_times(api, [job_id], 0.2))[job_id]
    assert times == pytest.approx([0.1], abs=0.006)


async def test_the_token_schedule_switch_records_each_tokens_due_time(make_api):
    api = await make_api(llm=LLM)
    off = await api.control("GET", f"endpoints/{api.ep}/token_schedule")
    assert off["recording"] is False and off["rows"] == []
    await api.control("PUT", f"endpoints/{api.ep}/token_schedule", json={"record": True})
    job_id = await api.run({"prompt": "hello", "max_tokens": 3})
    await chunk_times(api, [job_id], 0.5)
    body = await api.control("GET", f"endpoints/{api.ep}/token_schedule")
    assert body["columns"] == ["job", "index", "due", "emitted"]
    rows = [row for row in body["rows"] if row[0] == job_id]
    assert [row[1] for row in rows] == [0, 1, 2]
    dues = [row[2] for row in rows]  # ttft 0.3 s, then 1/40 s apart, counted from the previous due time
    assert [b - a for a, b in zip(dues, dues[1:], strict=False)] == pytest.approx([0.025, 0.025])
    assert all(emitted >= due for _, _, due, emitted in rows)
    await api.control("PUT", f"endpoints/{api.ep}/token_schedule", json={"record": "yes"}, expect=400)
    await api.control("PUT", f"endpoints/{api.ep}/token_schedule", json={"record": False})
    assert (await api.control("GET", f"endpoints/{api.ep}/token_schedule"))["recording"] is False


async def test_the_token_schedule_needs_an_llm_endpoint(make_api):
    api = await make_api()
    await api.control("PUT", f"endpoints/{api.ep}/token_schedule", json={"record": True}, expect=409)

"""Webhooks (payload, retries on the clock, loopback only) and the /openai routes."""

from __future__ import annotations

import asyncio
import json

from aiohttp import web
from emu_support import settle

from emulator.webhooks import is_loopback


async def receiver(aiohttp_server, statuses):
    """A loopback webhook target answering the given statuses in turn (then 200)."""
    seen: list[dict[str, object]] = []

    async def hook(request: web.Request) -> web.Response:
        seen.append(await request.json())
        return web.Response(status=statuses.pop(0) if statuses else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app)
    return f"http://127.0.0.1:{server.port}/hook", seen


async def wait_for(predicate, rounds=200):
    for _ in range(rounds):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached")


async def test_webhook_gets_status_object_plus_input_and_webhook(make_api, aiohttp_server):
    api = await make_api()
    url, seen = await receiver(aiohttp_server, [])
    job_id = await api.run({"output": 7}, webhook=url)
    await wait_for(lambda: seen)
    assert seen[0]["id"] == job_id and seen[0]["status"] == "COMPLETED" and seen[0]["output"] == 7
    assert seen[0]["input"] == {"output": 7} and seen[0]["webhook"] == url
    assert "delayTime" in seen[0] and "executionTime" in seen[0]
    deliveries = (await api.control("GET", "webhooks"))["deliveries"]
    assert deliveries == [
        {
            "jobId": job_id,
            "url": url,
            "attempt": 1,
            "status": 200,
            "error": None,
            "time": deliveries[0]["time"],
        }
    ]


async def test_webhook_fires_on_failed_too(make_api, aiohttp_server):
    api = await make_api()
    url, seen = await receiver(aiohttp_server, [])
    await api.run({"fail": "no"}, webhook=url)
    await wait_for(lambda: seen)
    assert seen[0]["status"] == "FAILED" and seen[0]["error"] == "no"


async def test_webhook_retried_twice_10_seconds_apart(make_api, aiohttp_server):
    api = await make_api()
    url, seen = await receiver(aiohttp_server, [500, 502, 500])
    await api.run({}, webhook=url)
    await wait_for(lambda: len(seen) == 1)
    await api.advance(9.9)
    await settle()
    assert len(seen) == 1
    await api.advance(0.1)
    await wait_for(lambda: len(seen) == 2)
    await api.advance(10)
    await wait_for(lambda: len(seen) == 3)
    await api.advance(60)
    await asyncio.sleep(0.05)
    assert len(seen) == 3  # 3 attempts in all
    deliveries = (await api.control("GET", "webhooks"))["deliveries"]
    assert [(d["attempt"], d["status"]) for d in deliveries] == [(1, 500), (2, 502), (3, 500)]


async def test_webhook_redirect_is_not_followed_and_counts_as_a_failed_attempt(make_api, aiohttp_server):
    # Followed, a 307 from a loopback receiver could send the job (input included) to any host.
    followed: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("/elsewhere")

    async def elsewhere(request: web.Request) -> web.Response:
        followed.append(request.path)
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_post("/elsewhere", elsewhere)
    server = await aiohttp_server(app)
    api = await make_api(webhook_attempts=2)
    await api.run({}, webhook=f"http://127.0.0.1:{server.port}/hook")
    await wait_for(lambda: api.emulator.webhooks.deliveries)
    await api.advance(10)
    await wait_for(lambda: len(api.emulator.webhooks.deliveries) == 2)
    assert [(d["attempt"], d["status"]) for d in api.emulator.webhooks.deliveries] == [(1, 307), (2, 307)]
    assert followed == []


async def test_an_input_nested_near_the_parser_limit_never_breaks_the_pump(make_api, aiohttp_server, caplog):
    api = await make_api()
    url, seen = await receiver(aiohttp_server, [])
    accepted = []
    for depth in range(1000, 850, -5):  # the deepest input the parser takes depends on the stack at hand
        raw = b'{"webhook": "%s", "input": %s%s}' % (url.encode(), b"[" * depth, b"]" * depth)
        resp = await api.client.post(api.url("run"), data=raw, headers={"Authorization": "Bearer test-key"})
        if resp.status == 200:
            accepted.append((await resp.json())["id"])
            if len(accepted) == 3:
                break
    assert accepted, "no nested input was accepted"
    await wait_for(lambda: len(api.emulator.webhooks.deliveries) == len(accepted))
    assert {d["jobId"] for d in api.emulator.webhooks.deliveries} == set(accepted)  # sent, or recorded as not
    assert not [r for r in caplog.records if r.exc_info]  # no exception escaped the store's pump
    assert (await api.call("POST", "runsync", json={"input": {"output": 1}}))["status"] == "COMPLETED"


async def test_unreachable_webhook_is_recorded_as_an_error(make_api):
    api = await make_api(webhook_attempts=1)
    await api.run({}, webhook="http://127.0.0.1:9/nothing-listens-here")
    await wait_for(lambda: api.emulator.webhooks.deliveries)
    delivery = api.emulator.webhooks.deliveries[0]
    assert delivery["status"] is None and delivery["error"]


async def test_remote_webhook_refused_unless_allowed(make_api):
    api = await make_api()
    await api.run({}, webhook="https://example.com/hook")
    await wait_for(lambda: api.emulator.webhooks.deliveries)
    assert "loopback" in api.emulator.webhooks.deliveries[0]["error"]


def test_loopback_detection():
    assert (
        is_loopback("http://127.0.0.1:1/x")
        and is_loopback("http://[::1]:8/x")
        and is_loopback("http://localhost/")
    )
    assert not is_loopback("http://10.0.0.1/") and not is_loopback("https://example.com/")


async def test_openai_chat_completion_runs_as_a_queue_job(make_api):
    api = await make_api(execution_time={"mean_s": 1.0})
    request = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    call = asyncio.ensure_future(api.call("POST", "openai/v1/chat/completions", json=request))
    await settle()
    jobs = (await api.control("GET", "endpoints/ep/jobs"))["jobs"]
    assert jobs[0]["source"] == "openai" and jobs[0]["status"] == "IN_PROGRESS"
    job_input = api.emulator.endpoint("ep").jobs.jobs[jobs[0]["id"]].input
    assert job_input == {"openai_route": "/v1/chat/completions", "openai_input": request}
    await api.advance(1)
    body = await call
    assert (
        body["object"] == "chat.completion"
        and body["choices"][0]["message"]["content"] == "Hello from podbench"
    )


async def test_openai_completion_and_models(make_api):
    api = await make_api()
    body = await api.call("POST", "openai/v1/completions", json={"prompt": "x"})
    assert body["object"] == "text_completion" and body["choices"][0]["text"] == "Hello from podbench"
    models = await api.call("GET", "openai/v1/models")
    assert models["data"][0]["id"] == "podbench-echo"


async def test_openai_stream_is_server_sent_events(make_api):
    api = await make_api()
    resp = await api.client.post(
        api.url("openai/v1/chat/completions"),
        json={"stream": True, "messages": []},
        headers={"Authorization": "test-key"},
    )
    assert resp.status == 200 and resp.content_type == "text/event-stream"
    text = await resp.text()
    events = [line[6:] for line in text.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    words = [json.loads(e)["choices"][0]["delta"]["content"] for e in events[:-1]]
    assert "".join(words) == "Hello from podbench"


async def test_openai_bad_body_is_400(make_api):
    api = await make_api()
    await api.call("POST", "openai/v1/chat/completions", data=b"[1]", expect=400)
    await api.call("POST", "openai/v1/chat/completions", data=b"{", expect=400)

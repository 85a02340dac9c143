"""Every public route, its happy path and its bad inputs (ManualClock; nothing sleeps)."""

from __future__ import annotations

import asyncio
import io
import json
import re
from pathlib import Path

import pytest
from emu_support import AUTH, KEY, settle

import emulator

ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}-u1$")


async def test_run_then_status_goes_through_the_states(make_api):
    api = await make_api()
    job_id = await api.run({"sleep": 2, "x": 1})
    assert ID_RE.match(job_id)
    await settle()
    body = await api.status(job_id)
    assert body["status"] == "IN_PROGRESS"
    assert body["delayTime"] == 0 and "workerId" in body and "output" not in body
    await api.advance(2)
    body = await api.status(job_id)
    assert body == {
        "id": job_id,
        "status": "COMPLETED",
        "delayTime": 0,
        "executionTime": 2000,
        "workerId": body["workerId"],
        "output": {"sleep": 2, "x": 1},
    }


async def test_status_accepts_post_and_bare_key(make_api):
    api = await make_api()
    job_id = await api.run({"output": 5})
    await settle()
    body = await api.call("POST", f"status/{job_id}", headers={"Authorization": KEY})
    assert body["output"] == 5


async def test_runsync_returns_final_state_with_sync_prefix(make_api):
    api = await make_api()
    body = await api.call("POST", "runsync", json={"input": {"output": [1, 2]}})
    assert body["id"].startswith("sync-") and body["status"] == "COMPLETED" and body["output"] == [1, 2]


async def test_runsync_failed_job_answers_200_with_error(make_api):
    api = await make_api()
    body = await api.call("POST", "runsync", json={"input": {"fail": "boom"}})
    assert body["status"] == "FAILED" and body["error"] == "boom"


async def test_runsync_wait_runs_out_with_current_state_and_job_goes_on(make_api):
    api = await make_api()
    call = asyncio.ensure_future(api.call("POST", "runsync?wait=1000", json={"input": {"sleep": 5}}))
    await api.advance(1)
    body = await call
    assert body["status"] == "IN_PROGRESS" and body["id"].startswith("sync-")
    await api.advance(4)
    assert (await api.status(body["id"]))["status"] == "COMPLETED"


async def test_runsync_default_wait_is_90_seconds(make_api):
    api = await make_api()
    call = asyncio.ensure_future(api.call("POST", "runsync", json={"input": {"sleep": 200}}))
    await api.advance(89)
    assert not call.done()
    await api.advance(1)
    assert (await call)["status"] == "IN_PROGRESS"


@pytest.mark.parametrize("wait", ["999", "300001", "abc"])
async def test_runsync_wait_out_of_range_is_400(make_api, wait):
    api = await make_api()
    body = await api.call("POST", f"runsync?wait={wait}", json={"input": {}}, expect=400)
    assert "wait" in body["error"]


async def test_status_sync_holds_until_final(make_api):
    api = await make_api()
    job_id = await api.run({"sleep": 3})
    call = asyncio.ensure_future(api.call("GET", f"status-sync/{job_id}?wait=10000"))
    await api.advance(2)
    assert not call.done()
    await api.advance(1)
    assert (await call)["status"] == "COMPLETED"
    body = await api.call("POST", f"status-sync/{job_id}?wait=1000")
    assert body["status"] == "COMPLETED"


async def test_cancel_queued_and_running_jobs(make_api):
    api = await make_api(workers_max=1)
    running = await api.run({"sleep": 10})
    queued = await api.run({"sleep": 10})
    await api.advance(1)
    assert (await api.status(queued))["status"] == "IN_QUEUE"
    assert await api.call("POST", f"cancel/{queued}") == {"id": queued, "status": "CANCELLED"}
    body = await api.call("POST", f"cancel/{running}")
    assert body["status"] == "CANCELLED" and body["executionTime"] == 1000 and "workerId" in body
    # a finished job stays as it is (emulator's choice)
    assert (await api.call("POST", f"cancel/{running}"))["status"] == "CANCELLED"
    stats = await api.control("GET", "endpoints/ep/stats")
    assert stats["cancelled"] == 2


async def test_retry_only_failed_jobs_same_id_output_removed(make_api):
    api = await make_api()
    job_id = await api.run({"fail": "nope"})
    await settle()
    assert (await api.status(job_id))["status"] == "FAILED"
    assert await api.call("POST", f"retry/{job_id}") == {"id": job_id, "status": "IN_QUEUE"}
    await settle()
    body = await api.status(job_id)
    assert body["status"] == "FAILED" and body["retries"] == 1
    assert (await api.call("GET", "health"))["jobs"]["retried"] == 1
    done = await api.run({"output": 1})
    await settle()
    body = await api.call("POST", f"retry/{done}", expect=400)
    assert "COMPLETED" in body["error"]


async def test_purge_removes_queued_jobs_only(make_api):
    api = await make_api(workers_max=1)
    running = await api.run({"sleep": 10})
    await settle()
    queued = [await api.run({"sleep": 1}) for _ in range(3)]
    assert await api.call("POST", "purge-queue") == {"removed": 3, "status": "completed"}
    await api.status(queued[0], expect=404)
    assert (await api.status(running))["status"] == "IN_PROGRESS"
    health = await api.call("GET", "health")
    assert health["jobs"]["inQueue"] == 0 and health["jobs"]["inProgress"] == 1


async def test_health_has_five_job_and_six_worker_counters(make_api):
    api = await make_api(workers_min=2)
    body = await api.call("GET", "health")
    assert set(body["jobs"]) == {"completed", "failed", "inProgress", "inQueue", "retried"}
    assert body["workers"] == {
        "idle": 2,
        "initializing": 0,
        "ready": 2,
        "running": 0,
        "throttled": 0,
        "unhealthy": 0,
    }


async def test_health_bytes_match_the_json_encoding_of_the_counters(make_api):
    api = await make_api(workers_min=2, workers_max=4)
    await api.run({"sleep": 5})
    await api.run({"fail": "x"})
    await settle()
    body = await api.call("GET", "health")
    assert body == api.emulator.endpoint("ep").health()
    assert body["jobs"]["failed"] == 1 and body["jobs"]["inProgress"] == 1 and body["workers"]["running"] == 1


async def test_requests_lists_recent_jobs_newest_first(make_api):
    api = await make_api()
    first = await api.run({"a": 1})
    second = await api.run({"a": 2})
    body = await api.call("GET", "requests")
    assert [r["id"] for r in body["requests"]] == [second, first]
    assert body["requests"][0]["source"] == "run"


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer wrong"}, 401), ({"Authorization": f"Bearer {KEY}"}, 200)],
)
async def test_auth(make_api, headers, status):
    api = await make_api()
    body = await api.call("GET", "health", headers=headers, expect=status)
    if status == 401:
        assert "key" in body["error"]


async def test_openapi_document_is_served_without_a_key(make_api):
    api = await make_api()
    resp = await api.client.get("/openapi.json")
    assert resp.status == 200 and resp.content_type == "application/json"
    assert json.loads(await resp.read()) == json.loads(
        (Path(emulator.__file__).parent / "openapi.json").read_text()
    )


async def test_unknown_endpoint_job_route_and_method_are_json_404_405(make_api):
    api = await make_api()
    resp = await api.client.get("/v2/other/health", headers=AUTH)
    assert resp.status == 404 and resp.content_type == "application/json"
    await api.status("00000000-0000-4000-8000-000000000000-u1", expect=404)
    await api.call("GET", "nope", expect=404)
    resp = await api.client.get("/nowhere")
    assert resp.status == 404 and resp.content_type == "application/json"
    body = await api.call("GET", "run", expect=405)
    assert body["status"] == 405


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/v2/ep/run", "POST"),
        ("DELETE", "/v2/ep/status/some-job", "GET, POST"),
        ("PUT", "/v2/ep/health", "GET"),
        ("HEAD", "/v2/ep/retry/some-job", "POST"),
        ("PATCH", "/v2/no-such-endpoint/stream/some-job", "GET, POST"),
        ("POST", "/openapi.json", "GET"),
    ],
)
async def test_a_405_lists_the_routes_methods_in_allow(make_api, method, path, allow):
    api = await make_api()
    resp = await api.client.request(method, path, headers=AUTH)
    assert resp.status == 405 and resp.headers["Allow"] == allow
    if method != "HEAD":
        assert resp.content_type == "application/json"
        assert allow in (await resp.json())["error"]


async def test_key_of_another_endpoint_is_refused(make_api):
    api = await make_api(extra_endpoints=({"id": "other", "api_keys": ["other-key"]},))
    await api.call("GET", "health", headers={"Authorization": "other-key"}, expect=401)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"[" * 5000, "nested too deeply"),
        (b'{"input": ' * 3000, "nested too deeply"),
        (b'{"input": NaN}', "NaN"),
        (b'{"input": {"x": -Infinity}}', "Infinity"),
        (b"", "empty"),
        (b"[1]", "JSON object"),
        (b"{}", "'input'"),
        (b'{"input": null}', "'input'"),
        (b'{"input": {}, "webhook": 5}', "webhook"),
        (b'{"input": {}, "webhook": "ftp://x"}', "webhook"),
        (b'{"input": {}, "policy": []}', "policy"),
        (b'{"input": {}, "policy": {"ttl": "1"}}', "policy.ttl"),
        (b'{"input": {}, "policy": {"ttl": 9999}}', "policy.ttl"),
        (b'{"input": {}, "policy": {"ttl": 604800001}}', "policy.ttl"),
        (b'{"input": {}, "policy": {"executionTimeout": 4999}}', "executionTimeout"),
        (b'{"input": {}, "policy": {"executionTimeout": 5000.5}}', "executionTimeout"),
        (b'{"input": {}, "policy": {"ttl": 4999.0}}', "policy.ttl"),
        (b'{"input": {}, "policy": {"lowPriority": "yes"}}', "lowPriority"),
        (b'{"input": {}, "policy": {"priority": 1}}', "priority"),
        (b'{"input": {}, "s3Config": "x"}', "s3Config"),
    ],
)
async def test_bad_run_bodies_are_400_with_a_message(make_api, body, fragment):
    api = await make_api()
    reply = await api.call("POST", "run", data=body, expect=400)
    assert fragment in reply["error"]


async def test_s3config_accepted_never_echoed(make_api):
    api = await make_api()
    s3 = {"accessId": "a", "accessSecret": "SECRET", "bucketName": "b", "endpointUrl": "http://x"}
    body = await api.call("POST", "runsync", json={"input": {"output": 1}, "s3Config": s3})
    assert "SECRET" not in str(body)


async def test_bad_query_values_are_400(make_api):
    api = await make_api()
    job_id = await api.run({})
    await api.call("GET", f"status/{job_id}?ttl=-1", expect=400)
    await api.call("GET", f"stream/{job_id}?wait=10", expect=400)


@pytest.mark.parametrize(("op", "limit_mib"), [("run", 10), ("runsync", 20)])
async def test_body_over_limit_is_400_problem_body(make_api, op, limit_mib):
    api = await make_api()
    padding = "x" * (limit_mib * 1024 * 1024)
    reply = await api.call("POST", op, data=io.BytesIO(f'{{"input": "{padding}"}}'.encode()), expect=400)
    assert reply == {
        "status": 400,
        "title": "Bad Request",
        "detail": f"bad request: body: exceeded max body size of {limit_mib}MiB",
    }


async def test_body_over_limit_without_content_length_is_refused_while_streaming(make_api):
    api = await make_api()
    sent = 0

    async def chunks():
        nonlocal sent
        yield b'{"input": "'
        for _ in range(40):  # up to 40 MiB offered; the server stops reading after 10
            sent += 1
            yield b"x" * (1024 * 1024)
        yield b'"}'

    resp = await api.client.post(api.url("run"), data=chunks(), headers=AUTH)
    assert resp.status == 400
    assert (await resp.json())["detail"].endswith("10MiB")


async def test_body_just_under_limit_is_accepted(make_api):
    api = await make_api()
    padding = "x" * (10 * 1024 * 1024 - 64)
    body = await api.call("POST", "run", data=io.BytesIO(f'{{"input": "{padding}"}}'.encode()))
    assert body["status"] == "IN_QUEUE"


async def test_malformed_http_gets_json_and_one_log_line_not_a_traceback(caplog):
    from aiohttp import web

    from emulator.app import create_app
    from emulator.clock import ManualClock
    from emulator.config import EmulatorConfig, endpoint_from_table
    from emulator.server_lifecycle import ServerLifecycle

    config = EmulatorConfig(
        endpoints=(endpoint_from_table({"id": "ep", "api_keys": [KEY]}),), seed=1, admin_key="a"
    )
    runner = ServerLifecycle(create_app(config, ManualClock(), rate_limits=False), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        for _ in range(3):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /v2/ep/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n")
            await writer.drain()
            head, _, body = (await reader.read()).partition(b"\r\n\r\n")
            writer.close()
            assert b" 400 " in head.split(b"\r\n")[0] and b"application/json" in head
            assert json.loads(body)["status"] == 400
    finally:
        await runner.cleanup()
    records = [r for r in caplog.records if r.name.startswith("aiohttp")]
    assert len(records) == 3 and all(r.exc_info is None and "\n" not in r.getMessage() for r in records)

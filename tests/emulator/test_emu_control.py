"""The control API under /_emulator/: admin auth, reset, config PATCH, jobs, stats, faults, clock."""

from __future__ import annotations

import asyncio

import pytest
from emu_support import ADMIN, AUTH, KEY, settle

from emulator.app import create_app
from emulator.clock import MonotonicClock
from emulator.config import EmulatorConfig, endpoint_from_table


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": ADMIN}, AUTH])
async def test_control_api_needs_the_admin_key_as_bearer(make_api, headers):
    api = await make_api()
    resp = await api.client.get("/_emulator/endpoints", headers=headers)
    assert resp.status == 401 and resp.content_type == "application/json"
    assert "admin key" in (await resp.json())["error"]


async def test_admin_key_is_not_an_api_key(make_api):
    api = await make_api()
    await api.call("GET", "health", headers={"Authorization": f"Bearer {ADMIN}"}, expect=401)


async def test_endpoints_are_listed_with_keys_redacted(make_api):
    api = await make_api(extra_endpoints=({"id": "two", "api_keys": ["k2"]},))
    body = await api.control("GET", "endpoints")
    assert [e["id"] for e in body["endpoints"]] == ["ep", "two"]
    assert KEY not in str(body) and "k2" not in str(body)
    one = await api.control("GET", "endpoints/ep")
    assert one["api_keys"] == ["<redacted>"] and one["workers_max"] == 3
    await api.control("GET", "endpoints/none", expect=404)


async def test_patch_changes_workers_at_run_time(make_api):
    api = await make_api(workers_min=0)
    body = await api.control("PATCH", "endpoints/ep", json={"workers_min": 2, "workers_max": 4})
    assert body["workers_min"] == 2 and body["workers_max"] == 4
    await settle()
    assert (await api.call("GET", "health"))["workers"]["idle"] == 2
    await api.control("PATCH", "endpoints/ep", json={"workers_min": 0, "workers_max": 1, "idle_timeout_s": 1})
    assert (await api.call("GET", "health"))["workers"]["idle"] == 1
    await api.advance(1)
    assert (await api.call("GET", "health"))["workers"]["idle"] == 0


async def test_patch_changes_retention_and_execution_time(make_api):
    api = await make_api()
    await api.control("PATCH", "endpoints/ep", json={"retention_run_s": 2, "execution_time": {"mean_s": 3.0}})
    job_id = await api.run({"x": 1})
    await api.advance(3)
    assert (await api.status(job_id))["executionTime"] == 3000
    await api.advance(2)
    await api.status(job_id, expect=404)


@pytest.mark.parametrize(
    ("patch", "fragment"),
    [
        ({"nope": 1}, "nope"),
        ({"workers_max": -1}, "workers_max"),
        ({"workers_max": 1.5}, "workers_max"),
        ({"workers_min": 5, "workers_max": 2}, "workers_min"),
        ({"scaler": "magic"}, "scaler"),
        ({"id": "other"}, "id"),
        ({"execution_time": {"distribution": "pareto"}}, "distribution"),
        ({"execution_time": {"median": 1}}, "median"),
        ({"webhook_allow_remote": "yes"}, "webhook_allow_remote"),
        ({"handler": "nocolon"}, "handler"),
    ],
)
async def test_bad_patch_is_400_naming_the_key(make_api, patch, fragment):
    api = await make_api()
    body = await api.control("PATCH", "endpoints/ep", json=patch, expect=400)
    assert fragment in body["error"]
    assert (await api.control("GET", "endpoints/ep"))["workers_max"] == 3


async def test_patch_body_must_be_an_object(make_api):
    api = await make_api()
    await api.control("PATCH", "endpoints/ep", json=[1], expect=400)
    await api.control("PATCH", "endpoints/ep", data=b"{oops", expect=400)


async def test_job_list_is_read_only_and_filters_by_status(make_api):
    api = await make_api(workers_max=1)
    running = await api.run({"sleep": 5})
    queued = await api.run({})
    await settle()
    jobs = (await api.control("GET", "endpoints/ep/jobs"))["jobs"]
    assert {j["id"]: j["status"] for j in jobs} == {running: "IN_PROGRESS", queued: "IN_QUEUE"}
    first = next(j for j in jobs if j["id"] == running)
    assert set(first) >= {
        "created",
        "started",
        "finished",
        "delayTime",
        "executionTime",
        "workerId",
        "retries",
        "source",
    }
    only = (await api.control("GET", "endpoints/ep/jobs?status=IN_QUEUE"))["jobs"]
    assert [j["id"] for j in only] == [queued]
    await api.control("GET", "endpoints/ep/jobs?status=DONE", expect=400)
    assert (await api.status(queued))["status"] == "IN_QUEUE"  # listing changed nothing


async def test_stats_count_outcomes_and_rejections(make_api):
    api = await make_api()
    await api.run({})
    await api.run({"fail": "x"})
    await api.call("POST", "run", data=b"{", expect=400)
    await api.status("missing", expect=404)
    await settle()
    stats = await api.control("GET", "endpoints/ep/stats")
    assert stats["accepted"] == 2 and stats["completed"] == 1 and stats["failed"] == 1
    assert stats["rejected_by_status_code"] == {"400": 1, "404": 1}
    assert stats["in_queue"] == 0 and stats["in_progress"] == 0


async def test_reset_forgets_jobs_and_stats(make_api):
    api = await make_api()
    job_id = await api.run({})
    await settle()
    await api.control("PATCH", "endpoints/ep", json={"workers_max": 5})
    assert await api.control("POST", "reset") == {"reset": True}
    await api.status(job_id, expect=404)
    stats = await api.control("GET", "endpoints/ep/stats")
    assert stats["accepted"] == 0
    assert (await api.control("GET", "endpoints/ep"))["workers_max"] == 5  # config survives a reset


async def test_faults_error_rate_and_status(make_api):
    api = await make_api()
    faults = await api.control("PUT", "endpoints/ep/faults", json={"error_rate": 1.0, "error_status": 503})
    assert faults["error_rate"] == 1.0 and faults["worker_crash_rate"] == 0
    body = await api.call("GET", "health", expect=503)
    assert "injected" in body["error"]
    await api.control("PUT", "endpoints/ep/faults", json={})
    await api.call("GET", "health")


async def test_faults_are_reproducible_with_the_seed(make_api):
    outcomes = []
    for _ in range(2):
        api = await make_api(seed=42)
        await api.control("PUT", "endpoints/ep/faults", json={"error_rate": 0.5})
        codes = []
        for _ in range(20):
            resp = await api.client.get(api.url("health"), headers=AUTH)
            codes.append(resp.status)
        outcomes.append(codes)
    assert outcomes[0] == outcomes[1] and set(outcomes[0]) == {200, 500}


async def test_added_latency_is_on_the_clock(make_api):
    api = await make_api()
    await api.control("PUT", "endpoints/ep/faults", json={"added_latency_ms": 1500})
    call = asyncio.ensure_future(api.call("GET", "health"))
    await api.advance(1.4)
    assert not call.done()
    await api.advance(0.1)
    await call


async def test_drop_connection_closes_without_a_reply(make_api):
    api = await make_api()
    await api.control("PUT", "endpoints/ep/faults", json={"drop_connection_rate": 1.0})
    import aiohttp

    with pytest.raises(aiohttp.ClientError):
        await api.client.get(api.url("health"), headers=AUTH)


@pytest.mark.parametrize(
    "faults",
    [{"error_rate": 2}, {"error_status": 200}, {"added_latency_ms": -1}, {"bogus": 1}, {"error_rate": "x"}],
)
async def test_bad_faults_are_400(make_api, faults):
    api = await make_api()
    await api.control("PUT", "endpoints/ep/faults", json=faults, expect=400)


async def test_manual_clock_reads_and_advances(make_api):
    api = await make_api()
    before = await api.control("GET", "clock")
    assert before["manual"] is True
    after = await api.control("POST", "clock/advance", json={"seconds": 1800})
    assert after["now"] == pytest.approx(before["now"] + 1800)
    await api.control("POST", "clock/advance", json={"seconds": -1}, expect=400)
    await api.control("POST", "clock/advance", json={}, expect=400)


async def test_advance_of_a_real_clock_is_409(aiohttp_client):
    config = EmulatorConfig(
        endpoints=(endpoint_from_table({"id": "ep", "api_keys": [KEY]}),), admin_key=ADMIN
    )
    client = await aiohttp_client(create_app(config, MonotonicClock(), rate_limits=False))
    resp = await client.post(
        "/_emulator/clock/advance", json={"seconds": 1}, headers={"Authorization": f"Bearer {ADMIN}"}
    )
    assert resp.status == 409 and "real" in (await resp.json())["error"]
    resp = await client.get("/_emulator/clock", headers={"Authorization": f"Bearer {ADMIN}"})
    assert (await resp.json())["manual"] is False


async def test_retention_of_30_minutes_checked_through_the_control_clock(make_api):
    api = await make_api()
    job_id = await api.run({})
    await settle()
    await api.control("POST", "clock/advance", json={"seconds": 1799})
    await api.status(job_id)
    await api.control("POST", "clock/advance", json={"seconds": 1})
    await api.status(job_id, expect=404)

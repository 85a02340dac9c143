"""429s over HTTP: body and headers for each operation, concurrency of held waits, queue rule, run-time PATCH."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from emu_support import ADMIN, AUTH, KEY, Api, settle

from emulator.app import create_app
from emulator.clock import ManualClock
from emulator.config import ConfigError, EmulatorConfig, endpoint_from_table, load_config

LimitedApiFactory = Callable[..., Awaitable[Api]]
JOB = "00000000-0000-4000-8000-000000000000-u1"  # the gate runs before the job is looked up

# operation -> (method, path) of one of its routes
ROUTES: dict[str, tuple[str, str]] = {
    "run": ("POST", "run"),
    "runsync": ("POST", "runsync?wait=1000"),
    "status": ("GET", f"status/{JOB}"),
    "status_sync": ("GET", f"status-sync/{JOB}?wait=1000"),
    "stream": ("GET", f"stream/{JOB}?wait=1000"),
    "cancel": ("POST", f"cancel/{JOB}"),
    "retry": ("POST", f"retry/{JOB}"),
    "purge_queue": ("POST", "purge-queue"),
    "health": ("GET", "health"),
    "requests": ("GET", "requests"),
    "openai": ("GET", "openai/v1/models"),
}
BUDGET = {"status_sync": "status", "stream": "status", "retry": "cancel"}


@pytest.fixture
def make_limited_api(aiohttp_client: Any) -> LimitedApiFactory:
    async def make(limits: dict[str, Any] | None = None, rate_limits: bool = True, **keys: Any) -> Api:
        table: dict[str, Any] = {"id": "ep", "api_keys": [KEY], "cold_start_s": 0.0, **keys}
        if limits is not None:
            table["limits"] = limits
        config = EmulatorConfig(endpoints=(endpoint_from_table(table),), seed=1, admin_key=ADMIN)
        app = create_app(config, ManualClock(), rate_limits=rate_limits)
        client = await aiohttp_client(app, server_kwargs={"handler_cancellation": True})
        return Api(client, app_clock(app), "ep")

    return make


def app_clock(app: Any) -> ManualClock:
    from emulator.app_keys import EMULATOR

    clock = app[EMULATOR].clock
    assert isinstance(clock, ManualClock)
    return clock


async def send(api: Api, operation: str, **kwargs: Any) -> Any:
    method, path = ROUTES[operation]
    if method == "POST" and operation in ("run", "runsync"):
        kwargs.setdefault("json", {"input": {"output": 1}})
    return await api.client.request(method, api.url(path), headers=kwargs.pop("headers", AUTH), **kwargs)


@pytest.mark.parametrize("operation", list(ROUTES))
async def test_each_operation_answers_429_naming_its_limit(
    make_limited_api: LimitedApiFactory, operation: str
) -> None:
    budget = BUDGET.get(operation, operation)
    api = await make_limited_api({budget: {"rate": 1, "window_s": 10, "concurrency": False}})
    first = asyncio.create_task(send(api, operation))  # runsync and the long-polls hold: run it aside
    await settle()
    await api.clock.advance_and_settle(2.5)
    resp = await send(api, operation)
    assert resp.status == 429
    assert resp.content_type == "application/json"
    assert resp.headers["Retry-After"] == "8"
    assert "RateLimit" not in resp.headers  # IETF headers are off by default
    body = await resp.json()
    assert body["limit"] == {
        "kind": "rate",
        "operation": operation,
        "budget": budget,
        "limit": 1,
        "window_s": 10.0,
    }
    assert body["status"] == 429 and body["retry_after"] == 8
    assert f"/{operation} rate limit of 1 requests per 10 s" in body["error"]
    await api.clock.advance_and_settle(2.0)
    (await first).close()


async def test_documented_defaults_apply_without_a_limits_table(make_limited_api: LimitedApiFactory) -> None:
    api = await make_limited_api()
    statuses = [(await send(api, "purge_queue")).status for _ in range(3)]
    assert statuses == [200, 200, 429]


async def test_ietf_headers_when_switched_on(make_limited_api: LimitedApiFactory) -> None:
    api = await make_limited_api({"ietf_headers": True})
    await send(api, "purge_queue")
    await send(api, "purge_queue")
    resp = await send(api, "purge_queue")
    assert resp.status == 429
    assert resp.headers["RateLimit-Policy"] == '"purge_queue";q=2;w=10'
    assert resp.headers["RateLimit"] == '"purge_queue";r=0;t=10'


async def test_held_runsync_counts_against_concurrency_until_it_ends(
    make_limited_api: LimitedApiFactory,
) -> None:
    api = await make_limited_api({"runsync": {"rate": False, "concurrency": 1}})
    held = asyncio.create_task(send(api, "runsync", json={"input": {"sleep": 5}}))
    await settle()
    resp = await send(api, "runsync")
    assert resp.status == 429 and resp.headers["Retry-After"] == "1"
    assert (await resp.json())["limit"]["kind"] == "concurrency"
    await api.advance(5.0, steps=5)
    assert (await held).status == 200
    resp = await send(api, "runsync", json={"input": {"output": 2}})
    assert resp.status == 200


async def test_client_disconnect_releases_a_held_long_poll(make_limited_api: LimitedApiFactory) -> None:
    api = await make_limited_api({"status": {"rate": False, "concurrency": 1}})
    job_id = await api.run({"sleep": 60})
    held = asyncio.create_task(api.client.get(api.url(f"stream/{job_id}?wait=30000"), headers=AUTH))
    await settle()
    assert (await api.client.get(api.url(f"status/{job_id}"), headers=AUTH)).status == 429
    held.cancel()  # the client goes away while /stream is held
    with pytest.raises(asyncio.CancelledError):
        await held
    for _ in range(20):
        await asyncio.sleep(0.01)  # real time: the server notices the closed connection
    assert (await api.client.get(api.url(f"status/{job_id}"), headers=AUTH)).status == 200


async def test_queue_rule_refuses_submits_once_the_queue_is_past_its_threshold(
    make_limited_api: LimitedApiFactory,
) -> None:
    api = await make_limited_api(
        {"queue": {"min_jobs": 5, "jobs_per_worker": 2}}, workers_min=1, workers_max=1
    )
    statuses = [(await send(api, "run", json={"input": {"sleep": 100}})).status for _ in range(10)]
    assert api.emulator.queue_length("ep") == 6  # one job runs on the only worker, 6 wait
    assert statuses.count(200) == 7 and statuses[7:] == [429, 429, 429]
    resp = await send(api, "runsync")
    assert resp.status == 429 and resp.headers["Retry-After"] == "1"
    body = await resp.json()
    assert body["limit"] == {
        "kind": "queue",
        "operation": "runsync",
        "budget": "queue",
        "limit": 5,
        "window_s": None,
    }
    assert (
        body["error"]
        == "Too many requests: /runsync queue limit: the queue holds more than 5 jobs; retry after 1 s"
    )
    assert (await send(api, "health")).status == 200


async def test_a_limited_request_is_refused_before_its_body_is_read(
    make_limited_api: LimitedApiFactory,
) -> None:
    api = await make_limited_api({"run": {"rate": 1}})
    await send(api, "run")
    resp = await api.client.post(
        api.url("run"), data=b"{not json", headers={**AUTH, "Content-Type": "application/json"}
    )
    assert resp.status == 429


async def test_auth_is_checked_before_limits_and_does_not_use_budget(
    make_limited_api: LimitedApiFactory,
) -> None:
    api = await make_limited_api({"run": {"rate": 1}})
    for _ in range(3):
        assert (await send(api, "run", headers={"Authorization": "Bearer wrong"})).status == 401
    assert (await send(api, "run")).status == 200
    assert (await send(api, "run", headers={"Authorization": "Bearer wrong"})).status == 401


async def test_limits_patched_at_run_time(make_limited_api: LimitedApiFactory) -> None:
    api = await make_limited_api()
    await api.control("PATCH", "endpoints/ep", json={"limits": {"health": {"rate": 2}}})
    assert [(await send(api, "health")).status for _ in range(3)] == [200, 200, 429]
    await api.control("PATCH", "endpoints/ep", json={"limits": {"health": None}})
    assert [(await send(api, "health")).status for _ in range(5)] == [200] * 5


async def test_a_bad_limits_patch_is_a_400_naming_the_key(make_limited_api: LimitedApiFactory) -> None:
    api = await make_limited_api()
    body = await api.control("PATCH", "endpoints/ep", json={"limits": {"run": {"rate": 0}}}, expect=400)
    assert "limits.run.rate" in body["error"]


async def test_rate_limits_off_admits_everything(make_limited_api: LimitedApiFactory) -> None:
    api = await make_limited_api({"purge_queue": {"rate": 1}}, rate_limits=False)
    assert [(await send(api, "purge_queue")).status for _ in range(5)] == [200] * 5


TOML = """
[[endpoint]]
id = "ep"
api_keys = ["test-key"]

[endpoint.limits]
algorithm = "token_bucket"

[endpoint.limits.cancel]
rate = 2
burst = 1
concurrency = false
"""


async def test_limits_come_from_the_toml_config(aiohttp_client: Any, tmp_path: Path) -> None:
    path = tmp_path / "emulator.toml"
    path.write_text(TOML)
    config = load_config(path, endpoint_id="unused", api_key=KEY, admin_key=ADMIN)
    app = create_app(config, ManualClock(), rate_limits=True)
    api = Api(await aiohttp_client(app), app_clock(app), "ep")
    assert (await send(api, "cancel")).status == 404  # admitted; the job does not exist
    resp = await send(api, "retry")  # shares cancel's bucket: 1 token, refilled every 5 s
    assert resp.status == 429 and resp.headers["Retry-After"] == "5"
    await api.clock.advance_and_settle(5.0)
    assert (await send(api, "retry")).status == 404


def test_a_bad_limits_table_in_the_toml_config_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "emulator.toml"
    path.write_text(TOML.replace("burst = 1", "burst = 0"))
    config = load_config(path, endpoint_id="unused", api_key=KEY, admin_key=ADMIN)
    with pytest.raises(ConfigError, match=r"limits\.cancel\.burst"):
        create_app(config, ManualClock(), rate_limits=True)


async def test_ietf_headers_on_accepted_replies(make_limited_api: LimitedApiFactory) -> None:
    api = await make_limited_api({"ietf_headers": True, "health": {"rate": 5}})
    resp = await send(api, "health")
    assert resp.status == 200
    assert resp.headers["RateLimit-Policy"] == '"health";q=5;w=10'
    assert resp.headers["RateLimit"] == '"health";r=4;t=10'
    assert (await send(api, "requests")).headers["RateLimit-Policy"] == '"requests";q=10;w=10'


async def test_a_patch_keeps_requests_in_flight_and_the_window(make_limited_api: LimitedApiFactory) -> None:
    api = await make_limited_api({"runsync": {"rate": 3, "concurrency": 1}})
    held = asyncio.create_task(send(api, "runsync", json={"input": {"sleep": 5}}))
    await settle()
    await api.control("PATCH", "endpoints/ep", json={"limits": {"runsync": {"rate": 2}}})
    resp = await send(api, "runsync")
    assert (
        resp.status == 429 and (await resp.json())["limit"]["kind"] == "concurrency"
    )  # the held one still counts
    await api.advance(5.0, steps=5)
    assert (await held).status == 200
    assert (await send(api, "runsync")).status == 200  # 2nd accept of the window
    resp = await send(api, "runsync")
    assert resp.status == 429 and (await resp.json())["limit"] == {
        "kind": "rate",
        "operation": "runsync",
        "budget": "runsync",
        "limit": 2,
        "window_s": 10.0,
    }


async def test_the_control_api_shows_the_limits(make_limited_api: LimitedApiFactory) -> None:
    api = await make_limited_api({"purge_queue": {"rate": 1}})
    await send(api, "purge_queue")
    await send(api, "purge_queue")
    body = await api.control("GET", "endpoints/ep/limits?accepts=1")
    purge = body["budgets"]["purge_queue"]
    assert (purge["rate"], purge["accepted"], purge["rejected"]["rate"]) == (1, 1, 1)
    assert purge["recent_accepts"] == [api.clock.now()]
    assert body["budgets"]["status"]["operations"] == ["status", "status_sync", "stream"]

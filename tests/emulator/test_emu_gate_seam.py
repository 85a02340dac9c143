"""The rate-limit seam: order of checks, release on every outcome, 429 rendering, extra headers."""

from __future__ import annotations

import asyncio

from emu_support import ADMIN, AUTH, KEY, Api, settle

from emulator.app import create_app
from emulator.clock import ManualClock
from emulator.config import EmulatorConfig, endpoint_from_table
from emulator.errors import RateLimited


class Admitted:
    headers = {"RateLimit": '"run";r=9;t=10'}

    def __init__(self, gate: RecordingGate) -> None:
        self.gate = gate

    def release(self) -> None:
        self.gate.released += 1


class RecordingGate:
    def __init__(self, limits, queues) -> None:
        self.limits, self.queues = limits, queues
        self.calls: list[tuple[str, str]] = []
        self.released = 0

    def admit(self, endpoint_id: str, operation: str, now: float) -> Admitted:
        self.calls.append((endpoint_id, operation))
        if operation == "purge_queue":
            raise RateLimited("/purge-queue rate limit of 2 requests per 10 s exceeded", retry_after=7.2)
        return Admitted(self)

    def configure(self, endpoint_id: str, limits) -> None:
        self.limits = {**self.limits, endpoint_id: limits}

    def describe(self, endpoint_id: str, *, with_accepts: bool = False) -> dict[str, bool]:
        return {"recording": True}


async def make(aiohttp_client) -> tuple[Api, list[RecordingGate]]:
    gates: list[RecordingGate] = []

    def factory(limits, queues):
        gates.append(RecordingGate(limits, queues))
        return gates[-1]

    table = {"id": "ep", "api_keys": [KEY], "cold_start_s": 0, "limits": {"run": {"rate": 5}}}
    config = EmulatorConfig(endpoints=(endpoint_from_table(table),), admin_key=ADMIN)
    clock = ManualClock()
    client = await aiohttp_client(create_app(config, clock, gate_factory=factory))
    return Api(client, clock, "ep"), gates


async def test_gate_gets_limits_and_a_queue_view(aiohttp_client):
    api, gates = await make(aiohttp_client)
    gate = gates[0]
    assert gate.limits == {"ep": {"run": {"rate": 5}}}
    await api.run({"sleep": 5})
    await api.run({"sleep": 5})
    await settle()
    assert gate.queues.queue_length("ep") == 1 and gate.queues.workers_max("ep") == 3
    assert gate.queues.running_workers("ep") == 1


async def test_auth_comes_before_the_gate_and_the_gate_before_the_body(aiohttp_client):
    api, gates = await make(aiohttp_client)
    await api.call("POST", "run", json={"input": {}}, headers={"Authorization": "bad"}, expect=401)
    await api.call("GET", "nope", expect=404)
    assert gates[0].calls == []
    await api.call("POST", "run", data=b"{broken", expect=400)  # admitted, then the body is refused
    assert gates[0].calls == [("ep", "run")] and gates[0].released == 1


async def test_refusal_is_a_json_429_with_retry_after(aiohttp_client):
    api, gates = await make(aiohttp_client)
    resp = await api.client.post(api.url("purge-queue"), headers=AUTH)
    assert resp.status == 429 and resp.content_type == "application/json"
    assert resp.headers["Retry-After"] == "8"
    assert "purge-queue" in (await resp.json())["error"]
    stats = await api.control("GET", "endpoints/ep/stats")
    assert stats["rejected_by_status_code"] == {"429": 1}


async def test_admission_headers_are_added_and_release_follows_a_held_long_poll(aiohttp_client):
    api, gates = await make(aiohttp_client)
    resp = await api.client.get(api.url("health"), headers=AUTH)
    assert resp.headers["RateLimit"] == '"run";r=9;t=10'
    call = asyncio.ensure_future(api.call("POST", "runsync?wait=5000", json={"input": {"sleep": 60}}))
    await settle()
    assert gates[0].released == 1  # health only; runsync still held
    await api.advance(5)
    await call
    assert gates[0].released == 2


async def test_each_route_names_its_operation(aiohttp_client):
    api, gates = await make(aiohttp_client)
    job_id = await api.run({"fail": "x"})
    await settle()
    for method, op in [
        ("GET", f"status/{job_id}"),
        ("POST", f"status/{job_id}"),
        ("GET", f"status-sync/{job_id}?wait=1000"),
        ("GET", f"stream/{job_id}?wait=1000"),
        ("POST", f"retry/{job_id}"),
        ("POST", f"cancel/{job_id}"),
        ("GET", "health"),
        ("GET", "requests"),
        ("GET", "openai/v1/models"),
    ]:
        await api.call(method, op)
    ops = [op for _, op in gates[0].calls]
    assert ops == [
        "run",
        "status",
        "status",
        "status_sync",
        "stream",
        "retry",
        "cancel",
        "health",
        "requests",
        "openai",
    ]


async def test_limits_view_with_limits_off(make_api):
    api = await make_api()
    assert await api.control("GET", "endpoints/ep/limits") == {"enabled": False}
    await api.control("GET", "endpoints/none/limits", expect=404)

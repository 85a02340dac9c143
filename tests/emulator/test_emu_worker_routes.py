"""The worker-side protocol of worker processes, spoken by the test itself (no process is started:
the test app never listens, so the backend launches nothing and the test plays the SDK)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from emu_support import Api, settle

from emulator.worker_processes.backend import ProcessBackend

FORM = {"Content-Type": "application/x-www-form-urlencoded"}  # what the SDK sends (rp_http.py)


class FakeWorker:
    """The SDK's side: the URLs its environment would name, with the worker's own token."""

    def __init__(self, api: Api) -> None:
        self.api = api
        backend = api.emulator.endpoint(api.ep).pool.backend
        assert isinstance(backend, ProcessBackend)
        self.backend = backend
        [(self.id, channel)] = backend.workers.items()
        self.token = channel.token

    def url(self, op: str, job_id: str = "", token: str | None = None) -> str:
        suffix = f"/{job_id}" if job_id else ""
        return f"/_worker/{self.api.ep}/{op}/{self.id}{suffix}?token={token or self.token}"

    async def take(self, batch: int = 0) -> Any:
        if batch:
            resp = await self.api.client.get(
                self.url("job-take-batch") + f"&batch_size={batch}&job_in_progress=0"
            )
        else:
            resp = await self.api.client.get(self.url("job-take") + "&job_in_progress=0")
        assert resp.status == 200, (resp.status, await resp.text())
        return await resp.json()

    async def post(self, op: str, job_id: str, body: Any, expect: int = 200) -> None:
        resp = await self.api.client.post(
            self.url(op, job_id) + "&isStream=false", data=json.dumps(body), headers=FORM
        )
        assert resp.status == expect, (resp.status, await resp.text())


async def worker_api(make_api: Any, **keys: Any) -> tuple[Api, FakeWorker]:
    api = await make_api(worker="/nowhere/handler.py", **keys)
    return api, FakeWorker(api)


async def test_take_progress_result_and_a_late_update_that_changes_nothing(make_api):
    api, worker = await worker_api(make_api)
    assert (await api.call("GET", "health"))["workers"]["initializing"] == 1
    job_id = await api.run({"prompt": "hi"})
    job = await worker.take()
    assert job == {"id": job_id, "input": {"prompt": "hi"}}
    status = await api.status(job_id)
    assert status["status"] == "IN_PROGRESS" and status["workerId"] == worker.id
    await worker.post("job-done", job_id, {"status": "IN_PROGRESS", "output": "step 1/2"})
    assert (await api.status(job_id))["output"] == "step 1/2"
    await worker.post("job-done", job_id, {"output": {"text": "ih"}})
    await worker.post("job-done", job_id, {"status": "IN_PROGRESS", "output": "step 2/2"})  # late
    final = await api.status(job_id)
    assert final["status"] == "COMPLETED" and final["output"] == {"text": "ih"}
    assert (await api.call("GET", "health"))["workers"]["idle"] == 1


async def test_errors_as_the_sdk_sends_them(make_api):
    api, worker = await worker_api(make_api)
    first = await api.run({"n": 1})
    await worker.take()
    await worker.post("job-done", first, {"error": "bad prompt", "output": {"hint": "x"}})
    failed = await api.status(first)
    assert (
        failed["status"] == "FAILED" and failed["error"] == "bad prompt" and failed["output"] == {"hint": "x"}
    )
    second = await api.run({"n": 2})
    await worker.take()
    await worker.post("job-done", second, {"error": ["a", "b"]})
    assert (await api.status(second))["error"] == '["a", "b"]'


async def test_stream_chunks_batch_take_and_stop_channel(make_api):
    api, worker = await worker_api(make_api, workers_max=1)
    ids = [await api.run({"n": n}) for n in range(3)]
    jobs = await worker.take(batch=3)
    assert [j["id"] for j in jobs] == ids
    await worker.post("job-stream", ids[0], {"output": {"token": "a"}})
    assert (await api.call("GET", f"stream/{ids[0]}"))["stream"] == [{"output": {"token": "a"}}]
    await api.call("POST", f"cancel/{ids[1]}")
    stop = await api.client.get(worker.url("job-stop"))
    assert stop.status == 200 and await stop.json() == {"jobsToStop": [ids[1]]}
    await worker.post("job-done", ids[1], {"output": "too late"})
    assert (await api.status(ids[1]))["status"] == "CANCELLED"
    await worker.post("job-done", ids[0], {"output": ["a"]})
    assert (await api.status(ids[0]))["output"] == ["a"]


async def test_stop_pod_sends_the_worker_back_to_initializing(make_api):
    api, worker = await worker_api(make_api)
    job_id = await api.run({})
    await worker.take()
    await worker.post("job-done", job_id, {"output": {"ok": True}, "stopPod": True})
    await settle()
    assert (await api.status(job_id))["status"] == "COMPLETED"
    assert (await api.call("GET", "health"))["workers"]["initializing"] == 1
    # the old process, until it is gone, may ask again: it is held, never served
    queued = await api.run({})
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(worker.take(), timeout=0.3)
    assert (await api.status(queued))["status"] == "IN_QUEUE"


async def test_worker_routes_need_the_workers_token_and_a_worker_endpoint(make_api):
    api, worker = await worker_api(make_api, extra_endpoints=({"id": "sim", "api_keys": ["k"]},))
    refused = await api.client.get(worker.url("job-take", token="wrong"))
    assert refused.status == 401 and refused.content_type == "application/json"
    missing = await api.client.get(f"/_worker/sim/job-take/{worker.id}?token={worker.token}")
    assert missing.status == 404
    listing = await api.control("GET", f"endpoints/{api.ep}/workers")
    assert listing["backend"] == "process" and listing["workers"][0]["id"] == worker.id
    assert (await api.control("GET", "endpoints/sim/workers"))["backend"] == "simulated"
    logs = await api.control("GET", f"endpoints/{api.ep}/workers/{worker.id}/logs")
    assert logs == {"id": worker.id, "stdout": [], "stderr": []}
    await api.control("GET", f"endpoints/{api.ep}/workers/nobody/logs", expect=404)

"""The official runpod SDK (sync and asyncio clients) end to end against the emulator on a real socket.

The emulator runs in a thread with its own loop (the sync SDK blocks), on the real clock; jobs use
tiny sleeps. SDK quirks (docs/api-behaviour.md §7): inputs are wrapped in {"input": ...} by the SDK, `Job.stream`
sleeps 1 s before each poll, the asyncio `Job.output` needs a timeout.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
from aiohttp import web

from emulator.app import create_app
from emulator.clock import MonotonicClock
from emulator.config import EmulatorConfig, endpoint_from_table

runpod = pytest.importorskip("runpod")
KEY = "sdk-key"


class EmulatorThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self._ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        table = {"id": "sdk", "api_keys": [KEY], "workers_min": 2, "workers_max": 4, "cold_start_s": 0}
        config = EmulatorConfig(endpoints=(endpoint_from_table(table),), admin_key="admin")
        self.runner = web.AppRunner(create_app(config, MonotonicClock(), rate_limits=False), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    def start(self) -> EmulatorThread:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def sdk_base() -> Iterator[str]:
    server = EmulatorThread().start()
    base = f"http://127.0.0.1:{server.port}/v2"
    saved = runpod.endpoint_url_base, runpod.api_key
    runpod.endpoint_url_base, runpod.api_key = base, KEY
    try:
        yield base
    finally:
        runpod.endpoint_url_base, runpod.api_key = saved
        server.stop()


def test_run_status_output(sdk_base):
    endpoint = runpod.Endpoint("sdk")
    job = endpoint.run({"sleep": 0.05, "output": {"answer": 42}})
    assert job.status() in ("IN_QUEUE", "IN_PROGRESS", "COMPLETED")
    assert job.output(timeout=5) == {"answer": 42}
    assert job.status() == "COMPLETED"


def test_run_sync_and_failed_run_sync(sdk_base):
    endpoint = runpod.Endpoint("sdk")
    assert endpoint.run_sync({"output": [1, 2]}, timeout=10) == [1, 2]
    assert endpoint.run_sync({"fail": "nope"}, timeout=10) is None  # the SDK drops a FAILED job's error


def test_stream(sdk_base):
    job = runpod.Endpoint("sdk").run({"stream": ["a", "b", "c"]})
    assert list(job.stream()) == ["a", "b", "c"]


def test_cancel_health_purge(sdk_base):
    endpoint = runpod.Endpoint("sdk")
    job = endpoint.run({"sleep": 30})
    assert job.cancel()["status"] == "CANCELLED"
    health = endpoint.health()
    assert set(health["workers"]) == {"idle", "initializing", "ready", "running", "throttled", "unhealthy"}
    assert endpoint.purge_queue() == {"removed": 0, "status": "completed"}


def test_wrong_key_is_a_401_runtime_error(sdk_base):
    endpoint = runpod.Endpoint("sdk", api_key="wrong")
    with pytest.raises(RuntimeError, match="401"):
        endpoint.run({"x": 1})


async def test_asyncio_client_run_output_stream_cancel(sdk_base):
    from runpod.http_client import AsyncClientSession

    async with AsyncClientSession() as session:
        endpoint = runpod.AsyncioEndpoint("sdk", session)
        job = await endpoint.run({"sleep": 0.05, "output": "done"})
        assert await job.output(timeout=5) == "done"
        streamed = await endpoint.run({"stream": ["x", "y"]})
        chunks = [chunk async for chunk in streamed.stream()]
        assert chunks == ["x", "y"]
        slow = await endpoint.run({"sleep": 30})
        assert (await slow.cancel())["status"] == "CANCELLED"
        assert (await endpoint.health())["jobs"]["completed"] >= 2
        assert (await endpoint.purge_queue())["status"] == "completed"

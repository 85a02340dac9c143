"""Helpers shared by the emulator tests (a module, since conftest cannot be imported)."""

from __future__ import annotations

import asyncio
from typing import Any

from emulator.app_keys import EMULATOR
from emulator.clock import ManualClock
from emulator.runtime import Emulator

KEY = "test-key"
ADMIN = "test-admin"
AUTH = {"Authorization": f"Bearer {KEY}"}
ADMIN_AUTH = {"Authorization": f"Bearer {ADMIN}"}


class Api:
    """A test client bound to one endpoint, plus the clock that drives it."""

    def __init__(self, client: Any, clock: ManualClock, endpoint_id: str) -> None:
        self.client = client
        self.clock = clock
        self.ep = endpoint_id

    @property
    def emulator(self) -> Emulator:
        emulator: Emulator = self.client.app[EMULATOR]
        return emulator

    def url(self, op: str) -> str:
        return f"/v2/{self.ep}/{op}"

    async def call(self, method: str, op: str, *, expect: int = 200, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", AUTH)
        resp = await self.client.request(method, self.url(op), headers=headers, **kwargs)
        assert resp.status == expect, (resp.status, await resp.text())
        assert resp.content_type == "application/json"
        return await resp.json()

    async def run(self, job_input: Any, **extra: Any) -> str:
        body = await self.call("POST", "run", json={"input": job_input, **extra})
        assert body["status"] == "IN_QUEUE"
        return str(body["id"])

    async def status(self, job_id: str, expect: int = 200) -> Any:
        return await self.call("GET", f"status/{job_id}", expect=expect)

    async def control(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        resp = await self.client.request(method, f"/_emulator/{path}", headers=ADMIN_AUTH, **kwargs)
        assert resp.status == expect, (resp.status, await resp.text())
        assert resp.content_type == "application/json"
        return await resp.json()

    async def advance(self, seconds: float, steps: int = 1) -> None:
        await settle()
        await self.clock.advance_and_settle(seconds, steps=steps)
        await settle()


async def settle(rounds: int = 20) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)

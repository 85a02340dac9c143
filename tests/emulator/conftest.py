"""Fixtures for the emulator's white-box tests: an app on a ManualClock behind aiohttp's test client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from emu_support import ADMIN, KEY, Api

from emulator.app import create_app
from emulator.clock import ManualClock
from emulator.config import EmulatorConfig, endpoint_from_table

ApiFactory = Callable[..., Awaitable[Api]]


@pytest.fixture
def make_api(aiohttp_client: Any) -> ApiFactory:
    """make_api(**endpoint_keys) -> Api on endpoint 'ep' (workers_min 1, no cold start by default)."""

    async def make(
        endpoint_id: str = "ep", seed: int = 7, extra_endpoints: tuple[dict[str, Any], ...] = (), **keys: Any
    ) -> Api:
        table: dict[str, Any] = {"id": endpoint_id, "api_keys": [KEY], "cold_start_s": 0.0}
        table.update(keys)
        endpoints = [endpoint_from_table(table)] + [endpoint_from_table(t) for t in extra_endpoints]
        config = EmulatorConfig(endpoints=tuple(endpoints), seed=seed, admin_key=ADMIN)
        clock = ManualClock()
        app = create_app(config, clock, rate_limits=False)
        client = await aiohttp_client(app)
        return Api(client, clock, endpoint_id)

    return make

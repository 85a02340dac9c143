"""The public operations of an emulated queue endpoint: each one's name, HTTP methods and path.

The one place they are written: the route table (`emulator.app`) is built from `ROUTES`, and the
rate-limit gate (`emulator.limits`) admits by `Route.operation`. A leaf: it imports nothing of the
emulator, so every other module may import it.
"""

from __future__ import annotations

from dataclasses import dataclass

V2 = "/v2/{endpoint_id}"


@dataclass(frozen=True)
class Route:
    operation: str  # the name the rate-limit gate and its `[endpoint.limits.NAME]` tables use
    methods: tuple[str, ...]
    path: str  # under /v2/{endpoint_id}

    @property
    def full_path(self) -> str:
        return f"{V2}{self.path}"


# aiohttp tries the resources under /v2 in this order: the busiest routes come first.
ROUTES: tuple[Route, ...] = (
    Route("run", ("POST",), "/run"),
    Route("status", ("GET", "POST"), "/status/{job_id}"),
    Route("health", ("GET",), "/health"),
    Route("runsync", ("POST",), "/runsync"),
    Route("stream", ("GET", "POST"), "/stream/{job_id}"),
    Route("status_sync", ("GET", "POST"), "/status-sync/{job_id}"),
    Route("cancel", ("POST",), "/cancel/{job_id}"),
    Route("retry", ("POST",), "/retry/{job_id}"),
    Route("purge_queue", ("POST",), "/purge-queue"),
    Route("requests", ("GET",), "/requests"),
    Route("openai", ("POST",), "/openai/v1/chat/completions"),
    Route("openai", ("POST",), "/openai/v1/completions"),
    Route("openai", ("GET",), "/openai/v1/models"),
)

# Every operation once, in the order of `ROUTES`.
OPERATIONS: tuple[str, ...] = tuple(dict.fromkeys(route.operation for route in ROUTES))

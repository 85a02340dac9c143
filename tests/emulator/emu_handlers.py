"""User handlers for the emulator's tests (`handler = "emu_handlers:NAME"`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

STARTED: list[str] = []
CANCELLED: list[str] = []


async def slow(job: dict[str, Any]) -> Any:
    STARTED.append(job["id"])
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        CANCELLED.append(job["id"])
        raise
    return "late"


async def agen(job: dict[str, Any]) -> AsyncIterator[Any]:
    for item in job["input"]["items"]:
        yield item


def gen(job: dict[str, Any]) -> Iterator[Any]:
    yield from job["input"]["items"]


def boom(job: dict[str, Any]) -> Any:
    raise ValueError("handler exploded")


def error_dict(job: dict[str, Any]) -> Any:
    return {"error": "told to fail", "partial": 1}

"""A streaming worker in the style of LLM worker repositories: an async generator of tokens.

Input: {"prompt": str, "max_tokens": int (default 16), "token_delay_s": float (default 0.02)}.
It streams the prompt's words back one token at a time (`/stream` shows each chunk); with
`return_aggregate_stream` the job's final output is the list of every token. Up to four jobs run
at once in one worker (`concurrency_modifier`), as async workers do.

Run it as RunPod would: `python handler.py`, or behind the emulator:
`podbench emulate --worker examples/workers/token_stream/handler.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import runpod

MAX_CONCURRENCY = 4


async def handler(job: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    job_input = job["input"]
    prompt = job_input.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        yield {"error": "input.prompt must be a non-empty string"}
        return
    max_tokens = int(job_input.get("max_tokens", 16))
    delay = float(job_input.get("token_delay_s", 0.02))
    for index, word in enumerate(prompt.split()[:max_tokens]):
        await asyncio.sleep(delay)
        yield {"index": index, "token": word}


def concurrency(current: int) -> int:
    return MAX_CONCURRENCY


runpod.serverless.start(
    {"handler": handler, "return_aggregate_stream": True, "concurrency_modifier": concurrency}
)

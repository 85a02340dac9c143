"""One job of an LLM sweep: a streamed chat completion on the OpenAI route, timed per token.

The capacity room's own generator speaks this route so that an LLM sweep is the same adaptive
ramp as any other (capacity/README.md); it records what goodput needs (first token, token count,
end) and nothing else. Prompt size follows the emulator's estimate of 4 characters per token.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from capacity.steps import JobRecord

CHARS_PER_TOKEN = 4
PROMPT_WORD = "capacity "


def draw_tokens(spec: Any, rng: random.Random) -> int:
    """A positive whole number of tokens: `n`, or `{distribution = "uniform", min, max}`."""
    if isinstance(spec, Mapping):
        return rng.randint(int(spec["min"]), int(spec["max"]))
    return int(spec)


def chat_body(sizes: Mapping[str, Any], rng: random.Random) -> dict[str, Any]:
    """A streaming chat request of the sizes the `[capacity] llm` table asks for, usage included."""
    prompt_tokens = draw_tokens(sizes.get("prompt_tokens", 128), rng)
    text = (PROMPT_WORD * (prompt_tokens * CHARS_PER_TOKEN // len(PROMPT_WORD) + 1))[
        : prompt_tokens * CHARS_PER_TOKEN
    ]
    return {
        "model": str(sizes.get("model", "podbench-llm")),
        "messages": [{"role": "user", "content": text}],
        "max_tokens": draw_tokens(sizes.get("max_tokens", 64), rng),
        "stream": True,
        "stream_options": {"include_usage": True},
    }


async def stream_chat(
    session: aiohttp.ClientSession,
    url: str,
    body: Mapping[str, Any],
    record: JobRecord,
    now: Callable[[], float],
) -> None:
    """Send the request and read its event stream: the first token's time, one token per content
    event (usage's completion_tokens when it comes), COMPLETED only at `[DONE]` after no error."""
    async with session.post(url, json=dict(body)) as resp:
        record.http_status = resp.status
        if resp.status >= 300:
            record.status = "RATE_LIMITED" if resp.status == 429 else "HTTP_ERROR"
            record.done_t = now()
            return
        async for raw in resp.content:
            line = raw.strip()
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                record.done_t = now()
                record.status = record.status or "COMPLETED"
                return
            _read_event(json.loads(data), record, now)
    record.status = record.status or "DROPPED"  # the stream ended without [DONE]
    record.done_t = now()


def _read_event(event: Any, record: JobRecord, now: Callable[[], float]) -> None:
    if not isinstance(event, dict):
        return
    if "error" in event:
        record.status = "FAILED"
        return
    usage = event.get("usage")
    if isinstance(usage, dict) and isinstance(usage.get("completion_tokens"), int):
        record.tokens = usage["completion_tokens"]
    for choice in event.get("choices") or ():
        delta = choice.get("delta") or {}
        if delta.get("content") or choice.get("text"):
            if record.first_token_t is None:
                record.first_token_t = now()
            record.tokens += 1

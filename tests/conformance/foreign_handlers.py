"""Workers as users write them, that do not speak podbench's contract (`handler = "foreign_handlers:NAME"`).

Both validate their input the way `rp_validator` does (unknown keys are errors), so a padded payload
or the suite's probe job fails, as it would on such a worker in production.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

KEYS = {"prompt", "pause_s"}


def _checked(job_input: Any) -> tuple[str, float]:
    if not isinstance(job_input, dict):
        raise ValueError("input must be an object")
    unknown = sorted(set(job_input) - KEYS)
    if unknown:
        raise ValueError(f"unknown keys: {unknown}")
    prompt = job_input.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        raise ValueError("prompt must be a non-empty string")
    return prompt, float(job_input.get("pause_s", 0))


def reverse(job: dict[str, Any]) -> Any:
    """Reverses input.prompt (after pause_s); bad input is answered with {"error": ...}."""
    try:
        prompt, pause_s = _checked(job.get("input"))
    except ValueError as exc:
        return {"error": str(exc)}
    time.sleep(pause_s)
    return {"reversed": prompt[::-1]}


async def tokens(job: dict[str, Any]) -> AsyncIterator[str]:
    """Yields the words of input.prompt backwards, pause_s apart; bad input raises."""
    prompt, pause_s = _checked(job.get("input"))
    for word in reversed(prompt.split()):
        await asyncio.sleep(pause_s)
        yield word

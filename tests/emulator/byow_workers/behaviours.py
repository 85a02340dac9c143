"""A RunPod worker file for the emulator's worker-process tests: each input asks for one behaviour.
Its handler is a coroutine (the SDK awaits it); the examples cover sync and async-generator ones."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import runpod


async def handler(job: dict[str, Any]) -> Any:
    job_input = job["input"]
    action = job_input.get("action")
    if action == "raise":
        raise ValueError(job_input.get("message", "boom"))
    if action == "refresh":
        return {"pid": os.getpid(), "refresh_worker": True}
    if action == "crash":
        sys.stderr.write(f"crashing on purpose in job {job['id']}\n")
        sys.stderr.flush()
        os._exit(3)
    if action == "sleep":
        await asyncio.sleep(float(job_input["seconds"]))
    return {"pid": os.getpid(), "echo": job_input}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})

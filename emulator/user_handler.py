"""Runs a user's own handler (`module:function`: sync, async, generator or async generator) in real time.

The default contract is played on the emulator's clock by `emulator.workers`; a user's handler
cannot be, so it runs for real: sync code in the default thread pool, async code as a task.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from emulator.config import ConfigError
from emulator.models import Job, JobStatus

if TYPE_CHECKING:
    from emulator.workers import Pool


class UserHandler:
    def __init__(self, function: Callable[..., Any], name: str) -> None:
        self.function = function
        self.name = name
        self.tasks: dict[Job, asyncio.Future[Any]] = {}

    @classmethod
    def load(cls, spec: str) -> UserHandler:
        module_name, _, attr = spec.partition(":")
        try:
            function = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"handler {spec!r} cannot be imported: {exc}") from exc
        if not callable(function):
            raise ConfigError(f"handler {spec!r} is not callable")
        return cls(function, spec)

    def start(self, job: Job, pool: Pool) -> None:
        loop = asyncio.get_running_loop()
        task = loop.create_task(self._run(job, pool, job.run_token, loop))
        self.tasks[job] = task
        task.add_done_callback(lambda _: self.tasks.pop(job, None))

    def cancel(self, job: Job) -> None:
        task = self.tasks.pop(job, None)
        if task is not None:
            task.cancel()  # a sync handler's thread runs on; its result is then ignored

    async def _run(self, job: Job, pool: Pool, token: int, loop: asyncio.AbstractEventLoop) -> None:
        payload = {"id": job.id, "input": job.input}
        function = self.function

        def chunk(value: Any) -> None:
            if job.run_token == token and job.status is JobStatus.IN_PROGRESS:
                pool.jobs.push_chunk(job, value)

        try:
            if inspect.isasyncgenfunction(function):
                result: Any = []
                async for item in function(payload):
                    chunk(item)
                    result.append(item)
            elif inspect.iscoroutinefunction(function):
                result = await function(payload)
            elif inspect.isgeneratorfunction(function):

                def drain() -> list[Any]:
                    items = []
                    for item in function(payload):
                        loop.call_soon_threadsafe(chunk, item)
                        items.append(item)
                    return items

                result = await loop.run_in_executor(None, drain)
            else:
                result = await loop.run_in_executor(None, function, payload)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the handler's own failure becomes the job's error, as the SDK does
            error = json.dumps({"error_type": str(type(exc)), "error_message": str(exc)})
            self._end(pool, job, token, JobStatus.FAILED, None, error)
            return
        if isinstance(result, dict) and "error" in result:
            rest = {k: v for k, v in result.items() if k != "error"}
            self._end(pool, job, token, JobStatus.FAILED, rest or None, str(result["error"]))
        else:
            self._end(pool, job, token, JobStatus.COMPLETED, result, None)

    @staticmethod
    def _end(pool: Pool, job: Job, token: int, status: JobStatus, output: Any, error: str | None) -> None:
        if job.run_token == token and job.status is JobStatus.IN_PROGRESS:
            pool.end(job, status, output=output, error=error)

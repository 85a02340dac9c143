"""A job and its lifecycle: `Job.move_to()` is the only way to move, along `contract.states.TRANSITIONS`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from contract.states import FINAL, TRANSITIONS, JobStatus

__all__ = ["FINAL", "TRANSITIONS", "IllegalTransition", "Job", "JobStatus"]


class IllegalTransition(RuntimeError):
    """A bug in the emulator, never a client error: the store checks legality before moving."""


class Job:
    """A job record. `__slots__` keeps 50k retained jobs small and cheap for the collector."""

    __slots__ = (
        "chunks",
        "created",
        "delay_ms",
        "endpoint_id",
        "error",
        "execution_ms",
        "execution_timeout_s",
        "expires_at",
        "finished",
        "id",
        "input",
        "low_priority",
        "output_json",
        "pending_output",
        "retries",
        "run_token",
        "source",
        "started",
        "status",
        "stream_done",
        "streamed",
        "ttl_s",
        "watchers",
        "webhook",
        "worker_id",
    )

    def __init__(
        self,
        job_id: str,
        endpoint_id: str,
        job_input: Any,
        *,
        source: str,
        created: float,
        webhook: str | None,
        execution_timeout_s: float,
        ttl_s: float,
        low_priority: bool,
    ) -> None:
        self.id = job_id
        self.endpoint_id = endpoint_id
        self.input = job_input
        self.source = source
        self.created = created
        self.webhook = webhook
        self.execution_timeout_s = execution_timeout_s
        self.ttl_s = ttl_s
        self.low_priority = low_priority
        self.status = JobStatus.IN_QUEUE
        self.started: float | None = None
        self.finished: float | None = None
        self.delay_ms: int | None = None
        self.execution_ms: int | None = None
        self.worker_id: str | None = None
        # The output is kept encoded: bytes are not tracked by the cycle collector (so 50k stored
        # results cost it nothing) and /status splices them into the reply without re-encoding.
        self.output_json: bytes | None = None
        self.pending_output = False
        self.error: str | None = None
        self.retries = 0
        self.expires_at = created + ttl_s
        self.chunks: list[Any] | None = None  # streamed, not yet read; None keeps idle jobs small
        self.stream_done = False
        self.streamed = False
        # Bumped on every (re)start so a stale completion timer of an earlier run does nothing.
        self.run_token = 0
        self.watchers: list[Callable[[], None]] | None = None

    def move_to(self, status: JobStatus) -> None:
        if status not in TRANSITIONS[self.status]:
            raise IllegalTransition(f"job {self.id}: {self.status.value} -> {status.value}")
        self.status = status
        self.notify()

    def add_chunk(self, chunk: Any) -> None:
        if self.chunks is None:
            self.chunks = []
        self.chunks.append(chunk)

    def take_chunks(self) -> list[Any]:
        """Chunks are drained on read (docs/api-behaviour.md §4)."""
        chunks, self.chunks = self.chunks, None
        if self.pending_output:
            # A non-streaming job's output reaches /stream readers once (emulator's choice).
            self.pending_output = False
            return [*(chunks or []), self.output]
        return chunks or []

    @property
    def has_chunks(self) -> bool:
        return bool(self.chunks) or self.pending_output

    @property
    def output(self) -> Any:
        return None if self.output_json is None else json.loads(self.output_json)

    def set_output(self, output: Any) -> None:
        """Raises TypeError/ValueError if the output is not JSON (the caller fails the job)."""
        self.output_json = None if output is None else json.dumps(output).encode()

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    def watch(self, callback: Callable[[], None]) -> None:
        if self.watchers is None:
            self.watchers = []
        self.watchers.append(callback)

    def unwatch(self, callback: Callable[[], None]) -> None:
        if self.watchers and callback in self.watchers:
            self.watchers.remove(callback)

    def notify(self) -> None:
        """Wake long-polls (runsync, status-sync, stream) waiting on this job."""
        if self.watchers:
            callbacks, self.watchers = self.watchers, None
            for callback in callbacks:
                callback()

    def to_status(self) -> dict[str, Any]:
        """The status object as the real API shows it (docs/api-behaviour.md §3): fields appear as they apply."""
        body: dict[str, Any] = {"id": self.id, "status": self.status.value}
        if self.delay_ms is not None:
            body["delayTime"] = self.delay_ms
        if self.execution_ms is not None:
            body["executionTime"] = self.execution_ms
        if self.worker_id is not None:
            body["workerId"] = self.worker_id
        if self.output_json is not None:
            body["output"] = self.output
        if self.error is not None:
            body["error"] = self.error
        if self.retries:
            body["retries"] = self.retries
        return body

    def status_bytes(self) -> bytes:
        """`to_status()` encoded, built by hand: the hot path of /status polling."""
        parts = [b'{"id": "%s", "status": "%s"' % (self.id.encode(), self.status.value.encode())]
        if self.delay_ms is not None:
            parts.append(b', "delayTime": %d' % self.delay_ms)
        if self.execution_ms is not None:
            parts.append(b', "executionTime": %d' % self.execution_ms)
        if self.worker_id is not None:
            parts.append(b', "workerId": "%s"' % self.worker_id.encode())
        if self.output_json is not None:
            parts.append(b', "output": ' + self.output_json)
        if self.error is not None:
            parts.append(b', "error": ' + json.dumps(self.error).encode())
        if self.retries:
            parts.append(b', "retries": %d' % self.retries)
        parts.append(b"}")
        return b"".join(parts)

    def describe(self, wall_offset: float) -> dict[str, Any]:
        """The control API's read-only view (times as epoch seconds)."""

        def wall(t: float | None) -> float | None:
            return None if t is None else round(t + wall_offset, 3)

        return {
            "id": self.id,
            "status": self.status.value,
            "created": wall(self.created),
            "started": wall(self.started),
            "finished": wall(self.finished),
            "delayTime": self.delay_ms,
            "executionTime": self.execution_ms,
            "workerId": self.worker_id,
            "retries": self.retries,
            "source": self.source,
            "lowPriority": self.low_priority,
        }

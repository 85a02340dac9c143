"""One worker process's side of the worker protocol: its open job-take, its stop long-poll, its
running jobs, its output rings and its history (cold starts, exits). No I/O here."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

from emulator.clock import Timer
from emulator.models import Job, JobStatus
from emulator.worker_processes.process import OutputRing, WorkerProcess

if TYPE_CHECKING:
    from emulator.workers import SimWorker

HISTORY = 20


class Take:
    """An open job-take long-poll: the jobs the pool handed to it, answered on the next loop turn
    (so one pump pass fills a batch) or empty when its hold runs out."""

    __slots__ = ("future", "jobs", "timer", "wanted")

    def __init__(self, wanted: int, future: asyncio.Future[list[Job]]) -> None:
        self.wanted = wanted
        self.jobs: list[Job] = []
        self.future = future
        self.timer: Timer | None = None

    def answer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.future.done():
            self.future.set_result(list(self.jobs))


class ProcessWorker:
    def __init__(self, worker: SimWorker, token: str) -> None:
        self.worker = worker
        self.token = token
        self.stdout = OutputRing()
        self.stderr = OutputRing()
        self.process: WorkerProcess | None = None
        self.launched_at = 0.0
        self.took_since_launch = False
        self.cold_starts_s: deque[float] = deque(maxlen=HISTORY)
        self.exits: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self.restarts = 0
        self.crash_streak = 0
        self.take: Take | None = None
        self.stop_ids: list[str] = []
        self.stop_waiter: asyncio.Future[None] | None = None
        self.running: dict[str, tuple[Job, int]] = {}
        self.refreshing = False
        self.retired = False
        self.restart_timer: Timer | None = None

    def free_slots(self) -> int:
        take = self.take
        if take is None or take.future.done() or self.refreshing:
            return 0  # a process being replaced (stopPod) gets no more work
        return take.wanted - len(take.jobs)

    def current(self, job_id: str) -> Job | None:
        """The job if this worker still runs it (a late result of a stopped run finds nothing)."""
        entry = self.running.get(job_id)
        if entry is None:
            return None
        job, token = entry
        if job.run_token != token or job.status is not JobStatus.IN_PROGRESS:
            del self.running[job_id]
            return None
        return job

    def wake_stop_poll(self) -> None:
        if self.stop_waiter is not None and not self.stop_waiter.done():
            self.stop_waiter.set_result(None)

    def close_polls(self) -> None:
        if self.take is not None:
            self.take.jobs.clear()
            self.take.answer()
            self.take = None
        self.wake_stop_poll()

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.worker.id,
            "state": self.worker.state,
            "pid": None if self.process is None else self.process.pid,
            "cold_start_ms": [round(s * 1000, 1) for s in self.cold_starts_s],
            "restarts": self.restarts,
            "running": sorted(self.running),
            "exits": list(self.exits),
        }

    def logs(self) -> dict[str, Any]:
        return {"id": self.worker.id, "stdout": list(self.stdout.lines), "stderr": list(self.stderr.lines)}

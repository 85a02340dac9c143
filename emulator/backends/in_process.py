"""`handler = "module:function"`: a user's handler run inside the emulator's process, in real time
(fast tests; no SDK loop). Lifecycle timers as the simulated backend's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.backends.simulated import TimedLifecycle
from emulator.models import Job
from emulator.user_handler import UserHandler

if TYPE_CHECKING:
    from emulator.workers import Pool, SimWorker


class InProcessBackend(TimedLifecycle):
    kind = "in_process"

    def __init__(self, pool: Pool, spec: str) -> None:
        super().__init__(pool)
        self.handler = UserHandler.load(spec)

    def execute(self, worker: SimWorker, job: Job) -> None:
        self.pool.arm_timeout(job)
        self.handler.start(job, self.pool)

    def stopped(self, worker: SimWorker, job: Job) -> None:
        self.handler.cancel(job)
        super().stopped(worker, job)

    def timed_out(self, worker: SimWorker | None, job: Job) -> None:
        self.handler.cancel(job)  # doc: "the job fails and the worker stops"

    def reconfigure(self) -> None:
        spec = self.pool.jobs.config.handler
        if spec and spec != self.handler.name:
            self.handler = UserHandler.load(spec)

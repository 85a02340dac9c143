"""How a worker executes a job, behind one seam, so the pool (`emulator.workers`) stays one model
of scaling and dispatch whatever runs the work:

- `simulated`: the worker contract played on the emulator's clock (the default);
- `in_process`: a `handler = "module:function"` run in the emulator's own process (fast tests);
- `emulator.worker_processes`: a user's unmodified RunPod worker file, one real process per worker,
  running the SDK's own worker loop against the worker-side routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from emulator.models import Job

if TYPE_CHECKING:
    from emulator.workers import SimWorker


class WorkerBackend(Protocol):
    kind: str

    def launch(self, worker: SimWorker, *, initial: bool) -> bool:
        """A new worker joins; True when it can take work at once. Otherwise the backend calls
        `pool.worker_ready(worker)` later (after a cold-start timer, or once its process asks for work).
        `initial`: one of the endpoint's `workers_min` at start-up."""

    def free_slots(self, worker: SimWorker) -> int:
        """How many more jobs this idle or running worker takes now."""

    def execute(self, worker: SimWorker, job: Job) -> None:
        """Run `job` (already IN_PROGRESS on `worker`); end it with `pool.end(...)`."""

    def stopped(self, worker: SimWorker, job: Job) -> None:
        """`job` was cancelled while running on `worker` (the pool already released it)."""

    def timed_out(self, worker: SimWorker | None, job: Job) -> None:
        """`job` overran its executionTimeout (doc: "the job fails and the worker stops")."""

    def retire(self, worker: SimWorker) -> None:
        """The worker leaves the pool (idle timeout, lower workers_max, reset)."""

    def reconfigure(self) -> None:
        """The endpoint's config changed (PATCH)."""

    async def close(self) -> None:
        """The emulator stops: nothing of this backend may outlive it."""

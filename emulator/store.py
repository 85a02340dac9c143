"""The job store: per-endpoint queue, retention, TTL, cancel/retry/purge rules. Synchronous, clock-driven.

Memory stays flat under load: a job leaves the store when its TTL or its result retention runs out
(checked on access and by a sweep timer), and each endpoint holds at most `max_jobs`, evicting the
oldest finished result first (docs/performance-notes.md: unbounded stores ruin p99).
"""

from __future__ import annotations

import itertools
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from typing import Any

from contract.states import FINAL, RETRYABLE
from emulator.clock import Clock
from emulator.config import EndpointConfig
from emulator.errors import JobNotFound, JobNotRetryable, RateLimited
from emulator.expiry import Deadlines
from emulator.models import Job, JobStatus

RECENT_REQUESTS = 100


class Stats:
    __slots__ = (
        "accepted",
        "cancelled",
        "completed",
        "evicted",
        "expired",
        "failed",
        "purged",
        "rejected",
        "retried",
        "timed_out",
    )

    def __init__(self) -> None:
        self.accepted = self.completed = self.failed = self.cancelled = 0
        self.timed_out = self.expired = self.purged = self.retried = self.evicted = 0
        self.rejected: Counter[int] = Counter()


class EndpointJobs:
    """One endpoint's jobs. The pool (emulator.workers) takes from `queue` and reports back here.

    `on_final(job)`: a job with a webhook reached a final state. `dispatch()`: a job was queued,
    hand out work. `stop_running(job)`: a running job was cancelled, stop its work.
    """

    def __init__(
        self,
        config: EndpointConfig,
        clock: Clock,
        *,
        on_final: Callable[[Job], None],
        dispatch: Callable[[], None],
        stop_running: Callable[[Job], None],
    ) -> None:
        self.config = config
        self.clock = clock
        self.on_final = on_final
        self.dispatch = dispatch
        self.stop_running = stop_running
        self.jobs: dict[str, Job] = {}
        self.queue: deque[Job] = deque()
        self.queued = 0
        self.queued_normal = 0
        self.in_progress = 0
        # Ids, not jobs: the eviction queue adds nothing to full collections (docs/performance-notes.md).
        self.finished_order: deque[str] = deque()
        self.stats = Stats()
        self.deadlines = Deadlines(clock, alive=self.jobs.__contains__, due=self._due)

    # -- submit and look up ------------------------------------------------------------------
    def submit(
        self,
        job_input: Any,
        *,
        source: str,
        webhook: str | None = None,
        execution_timeout_s: float | None = None,
        ttl_s: float | None = None,
        low_priority: bool = False,
    ) -> Job:
        config = self.config
        if len(self.jobs) >= config.max_jobs and not self._evict_one():
            raise RateLimited(f"job store full: {config.max_jobs} live jobs (max_jobs)", retry_after=1.0)
        prefix = "sync-" if source == "runsync" else ""
        job = Job(
            f"{prefix}{uuid.uuid4()}-{config.id_suffix}",
            config.id,
            job_input,
            source=source,
            created=self.clock.now(),
            webhook=webhook,
            execution_timeout_s=execution_timeout_s or config.execution_timeout_s,
            ttl_s=ttl_s or config.ttl_s,
            low_priority=low_priority,
        )
        self.jobs[job.id] = job
        self._enqueue(job)
        self._schedule_expiry(job, ("ttl", job.ttl_s))
        self.stats.accepted += 1
        self.dispatch()
        return job

    def get(self, job_id: str) -> Job:
        job = self.jobs.get(job_id)
        if job is None:
            raise JobNotFound(f"job {job_id} not found (unknown, expired or deleted)")
        if job.expires_at <= self.clock.now():
            self._delete(job)
            self.stats.expired += 1
            raise JobNotFound(f"job {job_id} not found (unknown, expired or deleted)")
        return job

    def set_ttl(self, job: Job, ttl_s: float) -> None:
        """`/status?ttl=`: the job (and its result) is deleted `ttl_s` from now (emulator's reading)."""
        job.expires_at = self.clock.now() + ttl_s
        self._schedule_expiry(job, ("status-ttl", ttl_s))

    def recent(self, limit: int = RECENT_REQUESTS) -> Iterator[Job]:
        """Newest first; dict order is insertion order, so walk it backwards."""
        return itertools.islice(reversed(self.jobs.values()), limit)

    # -- moves made by the pool --------------------------------------------------------------
    def next_queued(self) -> Job | None:
        while self.queue:
            job = self.queue.popleft()
            if job.status is JobStatus.IN_QUEUE and self.jobs.get(job.id) is job:
                self._dequeued(job)
                return job
        return None

    def oldest_queued(self, *, normal_only: bool, scan: int = 1000) -> Job | None:
        for job in itertools.islice(self.queue, scan):
            if job.status is JobStatus.IN_QUEUE and not (normal_only and job.low_priority):
                return job
        return None

    def start(self, job: Job, worker_id: str) -> None:
        now = self.clock.now()
        job.move_to(JobStatus.IN_PROGRESS)
        job.started = now
        job.delay_ms = int((now - job.created) * 1000)
        job.worker_id = worker_id
        job.run_token += 1
        self.in_progress += 1

    def push_chunk(self, job: Job, chunk: Any) -> None:
        job.streamed = True
        job.add_chunk(chunk)
        job.notify()

    def finish(self, job: Job, status: JobStatus, *, output: Any = None, error: str | None = None) -> None:
        """IN_PROGRESS -> a final state (COMPLETED, FAILED, TIMED_OUT or CANCELLED)."""
        now = self.clock.now()
        self.in_progress -= 1
        if self.jobs.get(job.id) is not job:
            return  # deleted mid-run (TTL): the worker's result has nowhere to go (docs/api-behaviour.md §8, #56)
        job.finished = now
        job.execution_ms = int((now - (job.started or now)) * 1000)
        job.error = error
        try:
            job.set_output(output)
        except (TypeError, ValueError) as exc:
            status, job.error = JobStatus.FAILED, f"handler output is not JSON: {exc}"
        if status is JobStatus.COMPLETED and not job.streamed and job.output_json is not None:
            job.pending_output = True
        job.stream_done = True
        self._finalise(job, status)

    # -- client operations -------------------------------------------------------------------
    def cancel(self, job: Job) -> Job:
        """Queued: removed from the queue. Running: stopped. Final: unchanged (emulator's choice)."""
        if job.status is JobStatus.IN_QUEUE:
            self._dequeued(job)
            job.finished = self.clock.now()
            job.stream_done = True
            self._finalise(job, JobStatus.CANCELLED)
        elif job.status is JobStatus.IN_PROGRESS:
            self.stop_running(job)
            self.finish(job, JobStatus.CANCELLED)
        return job

    def retry(self, job: Job) -> Job:
        if job.status not in RETRYABLE:
            raise JobNotRetryable(
                f"job {job.id} is {job.status.value}; only FAILED or TIMED_OUT jobs can be retried"
            )
        job.move_to(JobStatus.IN_QUEUE)
        job.retries += 1
        job.output_json = None
        job.error = job.started = job.finished = None
        job.pending_output = False
        job.delay_ms = job.execution_ms = None
        job.worker_id = None
        job.chunks = None
        job.stream_done = job.streamed = False
        job.expires_at = job.created + job.ttl_s
        self._schedule_expiry(job, ("retried", 0.0))
        self.stats.retried += 1
        self._enqueue(job)
        self.dispatch()
        return job

    def purge(self) -> int:
        """Queued jobs are deleted (later lookups 404: emulator's choice); running ones go on."""
        removed = 0
        for job in self.queue:
            if job.status is JobStatus.IN_QUEUE and self.jobs.get(job.id) is job:
                del self.jobs[job.id]
                removed += 1
                job.notify()
        self.queue.clear()
        self.queued = self.queued_normal = 0
        self.stats.purged += removed
        return removed

    def health_jobs(self) -> dict[str, int]:
        s = self.stats
        return {
            "completed": s.completed,
            "failed": s.failed,
            "inProgress": self.in_progress,
            "inQueue": self.queued,
            "retried": s.retried,
        }

    def clear(self) -> None:
        for job in list(self.jobs.values()):
            job.notify()
        self.jobs.clear()
        self.queue.clear()
        self.finished_order.clear()
        self.deadlines.clear()
        self.queued = self.queued_normal = self.in_progress = 0
        self.stats = Stats()

    # -- internals ---------------------------------------------------------------------------
    def _enqueue(self, job: Job) -> None:
        self.queue.append(job)
        self.queued += 1
        if not job.low_priority:
            self.queued_normal += 1

    def _dequeued(self, job: Job) -> None:
        self.queued -= 1
        if not job.low_priority:
            self.queued_normal -= 1

    def _finalise(self, job: Job, status: JobStatus) -> None:
        job.move_to(status)
        s = self.stats
        if status is JobStatus.COMPLETED:
            s.completed += 1
        elif status is JobStatus.FAILED:
            s.failed += 1
        elif status is JobStatus.CANCELLED:
            s.cancelled += 1
        else:
            s.timed_out += 1
        retention = (
            self.config.retention_runsync_s if job.source == "runsync" else self.config.retention_run_s
        )
        job.expires_at = min(job.expires_at, (job.finished or self.clock.now()) + retention)
        self._schedule_expiry(job, ("kept", retention))
        order = self.finished_order
        if order and order[0] not in self.jobs:
            order.popleft()  # expired or deleted meanwhile: keeps the queue about as long as the store
        order.append(job.id)
        if job.webhook:
            self.on_final(job)
        if status is JobStatus.COMPLETED or status is JobStatus.CANCELLED:
            job.input = None  # only a retry (FAILED/TIMED_OUT) needs it again; keeps the store light

    def _evict_one(self) -> bool:
        while self.finished_order:
            job = self.jobs.get(self.finished_order.popleft())
            if job is not None and job.status in FINAL:
                del self.jobs[job.id]
                self.stats.evicted += 1
                return True
        return False

    def _delete(self, job: Job) -> None:
        if self.jobs.get(job.id) is not job:
            return
        del self.jobs[job.id]
        if job.status is JobStatus.IN_QUEUE:
            self._dequeued(job)
        job.notify()

    def _schedule_expiry(self, job: Job, lane: tuple[str, float]) -> None:
        self.deadlines.add(lane, job.expires_at, job.id, store_size=len(self.jobs))

    def _due(self, job_id: str) -> None:
        job = self.jobs.get(job_id)
        if job is not None and job.expires_at <= self.clock.now():
            self._delete(job)
            self.stats.expired += 1

"""The worker pool of one endpoint: scaler, cold starts, idle timeouts, dispatch.

No task per job and no polling tick: `pump()` runs whenever something changes (a submit, a job
ending, a worker becoming ready) and hands queued jobs to free slots. How a worker runs a job is
its backend's business (`emulator.backends`: simulated on the clock, an in-process handler, or a
real worker process); the scaling and queue model here is the same for all of them.
"""

from __future__ import annotations

import asyncio
import math
import random
import string
from collections.abc import Callable
from typing import Any

from emulator.backends import WorkerBackend
from emulator.clock import Clock, Timer
from emulator.config import EndpointConfig
from emulator.faults import FaultDice
from emulator.models import Job, JobStatus
from emulator.store import EndpointJobs

EXECUTION_TIMEOUT_ERROR = "executionTimeout exceeded"  # docs/api-behaviour.md §3 (observed)
WORKER_LOST_ERROR = "worker stopped reporting"
WORKER_ID_ALPHABET = string.ascii_lowercase + string.digits


WORKER_STATES = ("initializing", "idle", "running", "unhealthy")
Census = dict[str, int]


def new_census() -> Census:
    """How many of a pool's workers are in each state, kept as states change."""
    return dict.fromkeys(WORKER_STATES, 0)


class SimWorker:
    """One worker of a pool. Its state is counted in the pool's census on every change, so
    `/health` and the dynamic rate limit (asked on every admitted request) read counts in O(1)
    instead of walking the workers; whoever sets `state` (the pool or a backend) keeps it true."""

    __slots__ = ("_census", "_state", "id", "jobs", "timer")

    def __init__(self, worker_id: str, state: str, census: Census) -> None:
        self.id = worker_id
        self.jobs: set[Job] = set()
        self.timer: Timer | None = None
        self._census: Census | None = census
        census[state] += 1
        self._state = state

    @property
    def state(self) -> str:
        """initializing | idle | running | unhealthy"""
        return self._state

    @state.setter
    def state(self, state: str) -> None:
        census = self._census
        if census is not None:
            census[state] += 1  # first: an unknown state raises before anything is counted
            census[self._state] -= 1
        self._state = state

    def leave_census(self) -> None:
        """Removed from its pool: no longer counted (a backend may still set its state after)."""
        if self._census is not None:
            self._census[self._state] -= 1
            self._census = None

    def set_timer(self, timer: Timer | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = timer


BackendFactory = Callable[["Pool"], WorkerBackend]


def default_backend(pool: Pool) -> WorkerBackend:
    from emulator.backends.in_process import InProcessBackend
    from emulator.backends.llm import LlmBackend
    from emulator.backends.simulated import SimulatedBackend

    config = pool.jobs.config
    if config.handler:
        return InProcessBackend(pool, config.handler)
    if config.llm is not None:
        return LlmBackend(pool, config.llm)
    return SimulatedBackend(pool)


class Pool:
    def __init__(
        self,
        jobs: EndpointJobs,
        clock: Clock,
        dice: FaultDice,
        seed: int,
        backend_factory: BackendFactory = default_backend,
    ) -> None:
        self.jobs = jobs
        self.clock = clock
        self.dice = dice
        self.rng = random.Random(f"{seed}:{jobs.config.id}:workers")
        self.workers: list[SimWorker] = []
        self.census = new_census()  # == the states of `workers`, counted (tests recount it)
        self.backend_factory = backend_factory
        self.backend = backend_factory(self)
        self._pumping = False
        self._pump_soon = False
        self._scale_timer: Timer | None = None
        self._running: dict[Job, SimWorker] = {}
        self._stop_timers: dict[Job, Timer] = {}
        self._add_initial_workers()

    # -- public --------------------------------------------------------------------------------
    def pump_soon(self) -> None:
        """Dispatch on the next loop turn: a burst of submits is handed out in one pass, and /run
        answers IN_QUEUE as the real API does. Without a running loop (plain unit tests), at once."""
        if self._pump_soon:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.pump()
            return
        self._pump_soon = True
        loop.call_soon(self._pump_now)

    def _pump_now(self) -> None:
        self._pump_soon = False
        self.pump()

    def pump(self) -> None:
        if self._pumping:
            return
        self._pumping = True
        try:
            jobs = self.jobs
            while True:
                while jobs.queued:
                    worker = self._free_worker()
                    if worker is None:
                        break
                    job = jobs.next_queued()
                    if job is None:
                        break
                    self._start(worker, job)
                # Workers without a cold start are ready at once: hand them work in the same pass.
                if not (self._scale() and jobs.queued):
                    break
        finally:
            self._pumping = False

    def reconfigure(self) -> None:
        """After a PATCH: honour new min/max at once (extra idle workers leave, missing ones cold-start)."""
        config = self.jobs.config
        self.backend.reconfigure()
        if self.backend.kind != default_kind(config) and self.backend_factory is default_backend:
            self.backend = default_backend(self)
        for worker in [w for w in self.workers if w.state in ("idle", "initializing")]:
            if len(self.workers) <= config.workers_max:
                break
            self._remove(worker)
        for worker in self.workers:
            if worker.state == "idle":
                self._arm_idle(worker)
        self.pump()

    def health(self) -> dict[str, int]:
        c = self.census
        return {
            "idle": c["idle"],
            "initializing": c["initializing"],
            "ready": c["idle"],  # observed: ready == idle in every captured body
            "running": c["running"],
            "throttled": 0,
            "unhealthy": c["unhealthy"],
        }

    def running_workers(self) -> int:
        return self.census["running"]

    def clear(self, *, refill: bool = True) -> None:
        """Forget every worker (their backends retire them); `refill` starts `workers_min` anew."""
        for worker in self.workers:
            worker.set_timer(None)
            worker.leave_census()
            self.backend.retire(worker)
        for timer in self._stop_timers.values():
            timer.cancel()
        if self._scale_timer is not None:
            self._scale_timer.cancel()
            self._scale_timer = None
        self.workers = []
        self._running.clear()
        self._stop_timers.clear()
        if refill:
            self._add_initial_workers()

    def _add_initial_workers(self) -> None:
        for _ in range(self.jobs.config.workers_min):
            worker = SimWorker(self._new_id(), "initializing", self.census)
            self.workers.append(worker)
            if self.backend.launch(worker, initial=True):
                worker.state = "idle"

    # -- scaling ---------------------------------------------------------------------------------
    def _free_worker(self) -> SimWorker | None:
        free_slots = self.backend.free_slots
        for worker in self.workers:
            if worker.state in ("idle", "running") and free_slots(worker) > 0:
                return worker
        return None

    def _scale(self) -> bool:
        """Start workers the scaler asks for; True if one of them is ready at once."""
        config = self.jobs.config
        live = len(self.workers) - self.census["unhealthy"]
        want = config.workers_min
        normal = self.jobs.queued_normal
        if normal:
            if config.scaler == "request_count":
                want = max(want, math.ceil((normal + self.jobs.in_progress) / config.scaler_value))
            else:
                want = max(want, self._queue_delay_want(live, normal))
        want = min(want, config.workers_max)
        ready_now = False
        for _ in range(want - live):
            ready_now = self._cold_start() or ready_now
        return ready_now

    def _queue_delay_want(self, live: int, normal: int) -> int:
        """Queue-delay scaler: one more worker each time the oldest job has waited `scaler_value` s."""
        config = self.jobs.config
        free_slots = sum(
            config.jobs_per_worker - len(w.jobs) for w in self.workers if w.state in ("idle", "initializing")
        )
        if live == 0 or (free_slots == 0 and normal > 0 and self._oldest_wait() >= config.scaler_value):
            if self._scale_timer is not None:
                self._scale_timer.cancel()
                self._scale_timer = None
            return live + 1
        if self._scale_timer is None and normal and free_slots == 0:
            # (with free slots coming, e.g. a worker initializing, its readiness pumps again)
            oldest = self._oldest_wait()
            self._scale_timer = self.clock.call_later(max(0.001, config.scaler_value - oldest), self._rescale)
        return live

    def _oldest_wait(self) -> float:
        job = self.jobs.oldest_queued(normal_only=True)
        return 0.0 if job is None else self.clock.now() - job.created

    def _rescale(self) -> None:
        self._scale_timer = None
        self.pump()

    def _cold_start(self) -> bool:
        worker = SimWorker(self._new_id(), "initializing", self.census)
        self.workers.append(worker)
        if self.backend.launch(worker, initial=False):
            worker.state = "idle"
            self._arm_idle(worker)
            return True
        return False

    def worker_ready(self, worker: SimWorker) -> None:
        """A worker's cold start (or restart) is over: it takes work."""
        worker.timer = None
        if worker in self.workers and worker.state in ("initializing", "unhealthy"):
            worker.state = "idle"
            self._arm_idle(worker)
            self.pump()

    def _arm_idle(self, worker: SimWorker) -> None:
        if len(self.workers) > self.jobs.config.workers_min:
            worker.set_timer(
                self.clock.call_later(self.jobs.config.idle_timeout_s, lambda: self._idle_out(worker))
            )

    def _idle_out(self, worker: SimWorker) -> None:
        worker.timer = None
        if worker.state == "idle" and len(self.workers) > self.jobs.config.workers_min:
            self._remove(worker)

    def _remove(self, worker: SimWorker) -> None:
        worker.set_timer(None)
        if worker in self.workers:
            self.workers.remove(worker)
            worker.leave_census()
            self.backend.retire(worker)

    def restart(self, worker: SimWorker, *, state: str, after_s: float) -> None:
        """A worker that crashed or had a running job cancelled (observed: it restarts)."""
        worker.state = state
        worker.set_timer(self.clock.call_later(after_s, lambda: self.worker_ready(worker)))

    def _new_id(self) -> str:
        return "".join(self.rng.choices(WORKER_ID_ALPHABET, k=14))

    # -- execution -------------------------------------------------------------------------------
    def _start(self, worker: SimWorker, job: Job) -> None:
        worker.set_timer(None)
        worker.state = "running"
        worker.jobs.add(job)
        self._running[job] = worker
        self.jobs.start(job, worker.id)
        if self.dice.roll(self.dice.faults.worker_crash_rate):
            self._crash(worker, job)
            return
        self.backend.execute(worker, job)

    def defer(self, job: Job, delay: float, callback: Any) -> None:
        """The job's next step (a backend's timer; it replaces the previous one): cancelled when the job ends."""
        previous = self._stop_timers.get(job)
        if previous is not None:
            previous.cancel()
        self._stop_timers[job] = self.clock.call_later(max(0.0, delay), callback)

    def arm_timeout(self, job: Job) -> None:
        """For work that runs in real time: the job fails once it overruns its executionTimeout."""
        token = job.run_token
        self.defer(job, job.execution_timeout_s, lambda: self.timeout(job, token))

    def timeout(self, job: Job, token: int) -> None:
        if job.run_token == token and job.status is JobStatus.IN_PROGRESS:
            worker = self._running.get(job)
            self.end(job, JobStatus.FAILED, error=EXECUTION_TIMEOUT_ERROR)
            self.backend.timed_out(worker, job)

    def _crash(self, worker: SimWorker, job: Job) -> None:
        """The worker stops reporting: the job is TIMED_OUT after `worker_timeout_s` (doc: job-states)."""
        worker.state = "unhealthy"
        self.job_lost(job)
        config = self.jobs.config
        worker.set_timer(
            self.clock.call_later(
                config.worker_timeout_s + config.cold_start_s, lambda: self.worker_ready(worker)
            )
        )

    def job_lost(self, job: Job) -> None:
        """Its worker stopped reporting: the job turns TIMED_OUT after `worker_timeout_s`."""
        token = job.run_token

        def lost() -> None:
            if job.run_token == token and job.status is JobStatus.IN_PROGRESS:
                self.end(job, JobStatus.TIMED_OUT, error=WORKER_LOST_ERROR)

        self.defer(job, self.jobs.config.worker_timeout_s, lost)

    def end(self, job: Job, status: JobStatus, *, output: Any = None, error: str | None = None) -> None:
        """A run ends: record it, free the worker's slot, hand out more work."""
        worker = self._release(job)
        if job.status is JobStatus.IN_PROGRESS:
            self.jobs.finish(job, status, output=output, error=error)
        if worker is not None:
            self.after_job(worker)
        self.pump()

    def stop(self, job: Job) -> None:
        """A running job was cancelled: the backend decides what its worker does."""
        worker = self._release(job)
        if worker is not None:
            self.backend.stopped(worker, job)

    def _release(self, job: Job) -> SimWorker | None:
        timer = self._stop_timers.pop(job, None)
        if timer is not None:
            timer.cancel()
        worker = self._running.pop(job, None)
        if worker is not None:
            worker.jobs.discard(job)
        return worker

    def after_job(self, worker: SimWorker) -> None:
        if worker.jobs or worker.state != "running":
            return
        if len(self.workers) > self.jobs.config.workers_max:
            self._remove(worker)
            return
        worker.state = "idle"
        self._arm_idle(worker)


def default_kind(config: EndpointConfig) -> str:
    if config.handler:
        return "in_process"
    return "llm" if config.llm is not None else "simulated"

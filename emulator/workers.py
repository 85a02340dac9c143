"""The simulated worker pool of one endpoint: scaler, cold starts, idle timeouts, job execution.

No task per job and no polling tick: `pump()` runs whenever something changes (a submit, a job
ending, a worker becoming ready) and hands queued jobs to free slots. Simulated work is a chain of
clock timers (one per streamed chunk, one at the end); a job whose plan takes no time completes
inside `pump()` itself, so 10k instant jobs/s cost no timers at all.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import string
from typing import Any

from emulator.clock import Clock, Timer
from emulator.faults import FaultDice
from emulator.models import Job, JobStatus
from emulator.runner import UserHandler
from emulator.store import EndpointJobs
from worker.contract import ContractError, Plan, plan

CHUNK_LIMIT = 1024 * 1024  # doc: a streamed chunk is at most 1 MB; larger ones are split
EXECUTION_TIMEOUT_ERROR = "executionTimeout exceeded"  # docs/api-behaviour.md §3 (observed)
WORKER_ID_ALPHABET = string.ascii_lowercase + string.digits


class SimWorker:
    __slots__ = ("id", "jobs", "state", "timer")

    def __init__(self, worker_id: str, state: str) -> None:
        self.id = worker_id
        self.state = state  # initializing | idle | running | unhealthy
        self.jobs: set[Job] = set()
        self.timer: Timer | None = None

    def set_timer(self, timer: Timer | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = timer


class Pool:
    def __init__(self, jobs: EndpointJobs, clock: Clock, dice: FaultDice, seed: int) -> None:
        self.jobs = jobs
        self.clock = clock
        self.dice = dice
        self.rng = random.Random(f"{seed}:{jobs.config.id}:workers")
        self.workers: list[SimWorker] = []
        self.user_handler = UserHandler.load(jobs.config.handler) if jobs.config.handler else None
        self._pumping = False
        self._pump_soon = False
        self._scale_timer: Timer | None = None
        self._running: dict[Job, SimWorker] = {}
        self._stop_timers: dict[Job, Timer] = {}
        jobs.pump = self.pump_soon
        jobs.stop_running = self._stop
        for _ in range(jobs.config.workers_min):
            self.workers.append(SimWorker(self._new_id(), "idle"))

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
        self.user_handler = UserHandler.load(config.handler) if config.handler else None
        for worker in [w for w in self.workers if w.state in ("idle", "initializing")]:
            if len(self.workers) <= config.workers_max:
                break
            self._remove(worker)
        for worker in self.workers:
            if worker.state == "idle":
                self._arm_idle(worker)
        self.pump()

    def health(self) -> dict[str, int]:
        counts = {"idle": 0, "initializing": 0, "ready": 0, "running": 0, "throttled": 0, "unhealthy": 0}
        for worker in self.workers:
            counts[worker.state] += 1
        counts["ready"] = counts["idle"]  # observed: ready == idle in every captured body
        return counts

    def running_workers(self) -> int:
        return sum(1 for w in self.workers if w.state == "running")

    def clear(self) -> None:
        for worker in self.workers:
            worker.set_timer(None)
        for timer in self._stop_timers.values():
            timer.cancel()
        if self._scale_timer is not None:
            self._scale_timer.cancel()
            self._scale_timer = None
        self.workers = [SimWorker(self._new_id(), "idle") for _ in range(self.jobs.config.workers_min)]
        self._running.clear()
        self._stop_timers.clear()

    # -- scaling ---------------------------------------------------------------------------------
    def _free_worker(self) -> SimWorker | None:
        per_worker = self.jobs.config.jobs_per_worker
        for worker in self.workers:
            if worker.state in ("idle", "running") and len(worker.jobs) < per_worker:
                return worker
        return None

    def _scale(self) -> bool:
        """Start workers the scaler asks for; True if one of them is ready at once."""
        config = self.jobs.config
        live = sum(1 for w in self.workers if w.state != "unhealthy")
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
        worker = SimWorker(self._new_id(), "initializing")
        self.workers.append(worker)
        delay = self.jobs.config.cold_start_s
        if delay <= 0:
            worker.state = "idle"
            self._arm_idle(worker)
            return True
        worker.set_timer(self.clock.call_later(delay, lambda: self._ready(worker)))
        return False

    def _ready(self, worker: SimWorker) -> None:
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

    def _restart(self, worker: SimWorker, *, state: str, after_s: float) -> None:
        """A worker that crashed or had a running job cancelled (observed: it restarts)."""
        worker.state = state
        worker.set_timer(self.clock.call_later(after_s, lambda: self._ready(worker)))

    def _new_id(self) -> str:
        return "".join(self.rng.choices(WORKER_ID_ALPHABET, k=14))

    # -- execution -------------------------------------------------------------------------------
    def _start(self, worker: SimWorker, job: Job) -> None:
        worker.set_timer(None)
        worker.state = "running"
        worker.jobs.add(job)
        self._running[job] = worker
        self.jobs.start(job, worker.id)
        timeout = job.execution_timeout_s
        if self.dice.roll(self.dice.faults.worker_crash_rate):
            self._crash(worker, job)
            return
        if self.user_handler is not None:
            self._stop_timers[job] = self.clock.call_later(timeout, lambda: self._timeout(job, job.run_token))
            self.user_handler.start(job, self)
            return
        try:
            steps = plan(job.input)
        except ContractError as exc:
            self.end(job, JobStatus.FAILED, error=str(exc))
            return
        if steps.duration_s == 0 and not _has_sleep(job.input):
            steps = self._with_default_time(steps)
        self._play(job, steps, 0, job.run_token)

    def _with_default_time(self, steps: Plan) -> Plan:
        dist = self.jobs.config.execution_time
        if dist.mean_s <= 0 and dist.distribution == "fixed":
            return steps
        seconds = _sample(self.rng, dist.distribution, dist.mean_s, dist.spread_s)
        if steps.chunks:
            return Plan(
                steps.chunks,
                seconds / len(steps.chunks),
                0.0,
                steps.output,
                steps.error,
                steps.streams,
                steps.sse,
            )
        return Plan(steps.chunks, 0.0, seconds, steps.output, steps.error, steps.streams, steps.sse)

    def _play(self, job: Job, steps: Plan, index: int, token: int) -> None:
        """Emit chunk `index` (after its delay) or finish; re-schedules itself on the clock."""
        while True:
            if job.run_token != token or job.status is not JobStatus.IN_PROGRESS:
                return
            elapsed = self.clock.now() - (job.started or 0.0)
            if index < len(steps.chunks):
                due = steps.step_delay_s * (index + 1)
            else:
                due = steps.duration_s
            if due > job.execution_timeout_s:
                self._defer(job, job.execution_timeout_s - elapsed, lambda: self._timeout(job, token))
                return
            if due > elapsed + 1e-9:
                self._defer(job, due - elapsed, lambda i=index: self._play(job, steps, i, token))
                return
            if index < len(steps.chunks):
                for piece in split_chunk(steps.chunks[index], steps.sse):
                    self.jobs.push_chunk(job, piece)
                index += 1
                continue
            if steps.error is not None:
                self.end(job, JobStatus.FAILED, error=steps.error)
            else:
                self.end(job, JobStatus.COMPLETED, output=steps.output)
            return

    def _defer(self, job: Job, delay: float, callback: Any) -> None:
        self._stop_timers[job] = self.clock.call_later(max(0.0, delay), callback)

    def _timeout(self, job: Job, token: int) -> None:
        if job.run_token == token and job.status is JobStatus.IN_PROGRESS:
            if self.user_handler is not None:
                self.user_handler.cancel(job)  # doc: "the job fails and the worker stops"
            self.end(job, JobStatus.FAILED, error=EXECUTION_TIMEOUT_ERROR)

    def _crash(self, worker: SimWorker, job: Job) -> None:
        """The worker stops reporting: the job is TIMED_OUT after `worker_timeout_s` (doc: job-states)."""
        worker.state = "unhealthy"
        token = job.run_token
        config = self.jobs.config

        def lost() -> None:
            if job.run_token == token and job.status is JobStatus.IN_PROGRESS:
                self.end(job, JobStatus.TIMED_OUT, error="worker stopped reporting")

        self._defer(job, config.worker_timeout_s, lost)
        worker.set_timer(
            self.clock.call_later(config.worker_timeout_s + config.cold_start_s, lambda: self._ready(worker))
        )

    def end(self, job: Job, status: JobStatus, *, output: Any = None, error: str | None = None) -> None:
        """A run ends: record it, free the worker's slot, hand out more work."""
        worker = self._release(job)
        if job.status is JobStatus.IN_PROGRESS:
            self.jobs.finish(job, status, output=output, error=error)
        if worker is not None:
            self._after_job(worker)
        self.pump()

    def _stop(self, job: Job) -> None:
        """A running job was cancelled: its worker restarts (observed), taking a cold start."""
        worker = self._release(job)
        if self.user_handler is not None:
            self.user_handler.cancel(job)
        if worker is not None:
            if worker.jobs or worker.state == "unhealthy":
                return
            self._restart(worker, state="initializing", after_s=self.jobs.config.cold_start_s)

    def _release(self, job: Job) -> SimWorker | None:
        timer = self._stop_timers.pop(job, None)
        if timer is not None:
            timer.cancel()
        worker = self._running.pop(job, None)
        if worker is not None:
            worker.jobs.discard(job)
        return worker

    def _after_job(self, worker: SimWorker) -> None:
        if worker.jobs or worker.state != "running":
            return
        if len(self.workers) > self.jobs.config.workers_max:
            self._remove(worker)
            return
        worker.state = "idle"
        self._arm_idle(worker)


def _has_sleep(job_input: Any) -> bool:
    return isinstance(job_input, dict) and "sleep" in job_input


def _sample(rng: random.Random, distribution: str, mean: float, spread: float) -> float:
    if distribution == "uniform":
        return max(0.0, rng.uniform(mean - spread, mean + spread))
    if distribution == "exponential":
        return rng.expovariate(1.0 / mean) if mean > 0 else 0.0
    if distribution == "lognormal":
        # mean of a lognormal is exp(mu + sigma^2/2): solve for mu so the configured mean holds.
        return rng.lognormvariate(math.log(mean) - spread * spread / 2, spread) if mean > 0 else 0.0
    return mean


def split_chunk(chunk: Any, sse: bool = False) -> list[Any]:
    """A chunk over 1 MB becomes several (strings split; other values as pieces of their JSON text)."""
    if isinstance(chunk, str):
        text = chunk
        if len(text) <= CHUNK_LIMIT // 4 or len(text.encode()) <= CHUNK_LIMIT:
            return [chunk]
    else:
        if sse:
            return [chunk]
        text = json.dumps(chunk)
        if len(text) <= CHUNK_LIMIT // 4 or len(text.encode()) <= CHUNK_LIMIT:
            return [chunk]
    # Characters, not bytes, so no multi-byte character is cut; 4 bytes per character at worst.
    step = CHUNK_LIMIT // 4 if not text.isascii() else CHUNK_LIMIT
    return [text[i : i + step] for i in range(0, len(text), step)]

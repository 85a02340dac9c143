"""The default backend: the worker contract (`worker.contract.script`) played on the emulator's clock.

A job's work is a chain of clock timers (one per streamed chunk, one at the end); a job whose script
takes no time completes inside the pool's pump, so 10k instant jobs/s cost no timers at all, and a
manual clock drives everything.
"""

from __future__ import annotations

import json
import math
import random
from typing import TYPE_CHECKING, Any

from emulator.models import Job, JobStatus
from worker.contract import ContractError, Script, script

if TYPE_CHECKING:
    from emulator.workers import Pool, SimWorker

CHUNK_LIMIT = 1024 * 1024  # doc: a streamed chunk is at most 1 MB; larger ones are split


class TimedLifecycle:
    """Cold starts and restarts as timers of `cold_start_s` (shared by the simulated backends)."""

    kind = "simulated"

    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    def launch(self, worker: SimWorker, *, initial: bool) -> bool:
        delay = self.pool.jobs.config.cold_start_s
        if initial or delay <= 0:
            return True
        worker.set_timer(self.pool.clock.call_later(delay, lambda: self.pool.worker_ready(worker)))
        return False

    def free_slots(self, worker: SimWorker) -> int:
        return self.pool.jobs.config.jobs_per_worker - len(worker.jobs)

    def stopped(self, worker: SimWorker, job: Job) -> None:
        """Cancelling a running job restarts its worker (observed), taking a cold start."""
        if worker.jobs or worker.state == "unhealthy":
            return
        self.pool.restart(worker, state="initializing", after_s=self.pool.jobs.config.cold_start_s)

    def timed_out(self, worker: SimWorker | None, job: Job) -> None:
        pass

    def retire(self, worker: SimWorker) -> None:
        pass

    def reconfigure(self) -> None:
        pass

    async def close(self) -> None:
        pass


class SimulatedBackend(TimedLifecycle):
    def execute(self, worker: SimWorker, job: Job) -> None:
        try:
            steps = script(job.input)
        except ContractError as exc:
            self.pool.end(job, JobStatus.FAILED, error=str(exc))
            return
        if steps.duration_s == 0 and not _has_sleep(job.input):
            steps = self._with_default_time(steps)
        self._play(job, steps, 0, job.run_token)

    def _with_default_time(self, steps: Script) -> Script:
        dist = self.pool.jobs.config.execution_time
        if dist.mean_s <= 0 and dist.distribution == "fixed":
            return steps
        seconds = _sample(self.pool.rng, dist.distribution, dist.mean_s, dist.spread_s)
        if steps.chunks:
            return Script(
                steps.chunks,
                seconds / len(steps.chunks),
                0.0,
                steps.output,
                steps.error,
                steps.streams,
                steps.sse,
            )
        return Script(steps.chunks, 0.0, seconds, steps.output, steps.error, steps.streams, steps.sse)

    def _play(self, job: Job, steps: Script, index: int, token: int) -> None:
        """Emit chunk `index` (after its delay) or finish; re-schedules itself on the clock."""
        pool = self.pool
        while True:
            if job.run_token != token or job.status is not JobStatus.IN_PROGRESS:
                return
            elapsed = pool.clock.now() - (job.started or 0.0)
            if index < len(steps.chunks):
                due = steps.step_delay_s * (index + 1)
            else:
                due = steps.duration_s
            if due > job.execution_timeout_s:
                pool.defer(job, job.execution_timeout_s - elapsed, lambda: pool.timeout(job, token))
                return
            if due > elapsed + 1e-9:
                pool.defer(job, due - elapsed, lambda i=index: self._play(job, steps, i, token))
                return
            if index < len(steps.chunks):
                for piece in split_chunk(steps.chunks[index], steps.sse):
                    pool.jobs.push_chunk(job, piece)
                index += 1
                continue
            if steps.error is not None:
                pool.end(job, JobStatus.FAILED, error=steps.error)
            else:
                pool.end(job, JobStatus.COMPLETED, output=steps.output)
            return


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

"""The process backend: each pool worker is a real process running a user's unmodified RunPod
worker file with the SDK's own worker loop (so the user's SDK version decides every semantic).

The pool hands a job to a worker only while that worker's process holds a job-take open (so the
SDK's own concurrency decides how many jobs it runs); the worker routes (`routes.py`) carry jobs,
results, stream chunks, progress and stop signals. Cold start is real: a worker is
`initializing` from its process start until its first job-take.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
from collections import deque
from typing import TYPE_CHECKING, Any

from emulator.backends.simulated import split_chunk
from emulator.models import Job, JobStatus
from emulator.worker_processes.channel import ProcessWorker, Take
from emulator.worker_processes.host import WorkerHost
from emulator.worker_processes.process import WorkerProcess

if TYPE_CHECKING:
    from emulator.workers import Pool, SimWorker

LOG = logging.getLogger("emulator.workers")
TAKE_HOLD_S = 20.0  # the SDK gives up on a job-take after 90 s
STOP_HOLD_S = 20.0
CRASH_BACKOFF_MAX_S = 30.0
STDERR_TAIL = 20
RETIRED_KEPT = 20
PRIVATE_ENV = ("PODBENCH_EMULATOR_API_KEY", "PODBENCH_EMULATOR_ADMIN_KEY")


class ProcessBackend:
    kind = "process"

    def __init__(self, pool: Pool, host: WorkerHost) -> None:
        self.pool = pool
        self.host = host
        config = pool.jobs.config
        assert config.worker is not None
        self.worker_file = config.worker
        self.python = config.worker_python
        self.workers: dict[str, ProcessWorker] = {}
        self.retired: deque[ProcessWorker] = deque(maxlen=RETIRED_KEPT)
        self.closing = False
        self._tasks: set[asyncio.Task[None]] = set()

    # -- the pool's seam --------------------------------------------------------------------------
    def launch(self, worker: SimWorker, *, initial: bool) -> bool:
        pw = ProcessWorker(worker, secrets.token_urlsafe(16))
        self.workers[worker.id] = pw
        self.host.when_listening(lambda: self._spawn(pw))
        return False

    def free_slots(self, worker: SimWorker) -> int:
        pw = self.workers.get(worker.id)
        return 0 if pw is None else pw.free_slots()

    def execute(self, worker: SimWorker, job: Job) -> None:
        pw = self.workers[worker.id]
        take = pw.take
        assert take is not None
        take.jobs.append(job)
        pw.running[job.id] = (job, job.run_token)
        self.pool.arm_timeout(job)
        if len(take.jobs) == 1:
            asyncio.get_running_loop().call_soon(take.answer)

    def stopped(self, worker: SimWorker, job: Job) -> None:
        """Cancel of a running job: its id goes out on the worker's job-stop channel (SDK >= 1.12
        cancels just that job's task, runpod-python PR #510); the process goes on."""
        pw = self.workers.get(worker.id)
        if pw is not None and pw.running.pop(job.id, None) is not None:
            pw.stop_ids.append(job.id)
            pw.wake_stop_poll()
        self.pool.after_job(worker)

    def timed_out(self, worker: SimWorker | None, job: Job) -> None:
        """executionTimeout overrun (doc: "the job fails and the worker stops"): the process is
        killed and started again."""
        pw = None if worker is None else self.workers.get(worker.id)
        if pw is None:
            return
        if pw.running.pop(job.id, None) is None:
            return
        if pw.process is not None:
            pw.stderr.note(f"[emulator] job {job.id} overran its executionTimeout: worker stopped")
            pw.process.kill()

    def retire(self, worker: SimWorker) -> None:
        pw = self.workers.pop(worker.id, None)
        if pw is None:
            return
        pw.retired = True
        pw.close_polls()
        if pw.restart_timer is not None:
            pw.restart_timer.cancel()
        self.retired.append(pw)
        if pw.process is not None:
            self._background(pw.process.stop())

    def reconfigure(self) -> None:
        pass

    async def close(self) -> None:
        self.closing = True
        for pw in self.workers.values():
            pw.close_polls()
        stops = [pw.process.stop() for pw in self.workers.values() if pw.process is not None]
        await asyncio.gather(*stops, return_exceptions=True)
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5.0)

    # -- processes --------------------------------------------------------------------------------
    def _spawn(self, pw: ProcessWorker) -> None:
        pw.restart_timer = None
        if pw.retired or self.closing:
            return
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUNPOD_") and k not in PRIVATE_ENV}
        env.update(self.host.worker_env(self.pool.jobs.config.id, pw.worker.id, pw.token))
        process = WorkerProcess(
            self.worker_file,
            self.python,
            env,
            pw.stdout,
            pw.stderr,
            lambda proc, code: self._exited(pw, proc, code),
        )
        pw.process = process
        pw.launched_at = self.pool.clock.now()
        pw.took_since_launch = False
        self._background(self._start(pw, process))

    async def _start(self, pw: ProcessWorker, process: WorkerProcess) -> None:
        try:
            await process.start()
        except OSError as exc:
            pw.stderr.note(f"[emulator] cannot start {process.python}: {exc.strerror or exc}")
            self._exited(pw, process, -1)
            return
        pw.stdout.note(f"[emulator] worker process {process.pid} started")
        pw.stderr.note(f"[emulator] worker process {process.pid} started")
        if pw.retired or self.closing:
            await process.stop()

    def _exited(self, pw: ProcessWorker, process: WorkerProcess, code: int) -> None:
        if process is not pw.process:
            return
        pw.process = None
        at = round(self.pool.clock.wall(), 3)
        pw.exits.append({"pid": process.pid, "code": code, "at": at, "refresh": pw.refreshing})
        if pw.retired or self.closing:
            return
        lost = [job for job in (pw.current(job_id) for job_id in list(pw.running)) if job is not None]
        pw.running.clear()
        pw.close_polls()
        worker = pw.worker
        if pw.refreshing and not lost:
            pw.refreshing = False  # refresh_worker: the SDK ended its loop after the job, as asked
        else:
            pw.refreshing = False
            tail = "\n".join("    " + line for line in pw.stderr.tail(STDERR_TAIL))
            LOG.warning(
                "worker %s (pid %s) of endpoint %s exited with code %s%s; last stderr lines:\n%s",
                worker.id,
                process.pid,
                self.pool.jobs.config.id,
                code,
                f" while running {', '.join(j.id for j in lost)}" if lost else "",
                tail or "    (none)",
            )
            for job in lost:
                self.pool.job_lost(job)
        pw.crash_streak = 0 if pw.took_since_launch else pw.crash_streak + 1
        pw.restarts += 1
        delay = 0.0 if pw.crash_streak == 0 else min(CRASH_BACKOFF_MAX_S, 2.0 ** (pw.crash_streak - 1))
        worker.set_timer(None)
        worker.state = "unhealthy" if delay > 0 else "initializing"
        if delay > 0:
            pw.restart_timer = self.pool.clock.call_later(delay, lambda: self._spawn(pw))
        else:
            self._spawn(pw)

    def _background(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the worker routes ------------------------------------------------------------------------
    def authorised(self, worker_id: str, token: str) -> ProcessWorker | None:
        pw = self.workers.get(worker_id)
        if pw is None or not secrets.compare_digest(pw.token.encode(), token.encode()):
            return None
        return pw

    async def take(self, pw: ProcessWorker, wanted: int) -> list[Job]:
        """A job-take long-poll: jobs for this worker, or [] once the hold runs out."""
        pool = self.pool
        if not pw.took_since_launch:
            pw.took_since_launch = True
            pw.cold_starts_s.append(pool.clock.now() - pw.launched_at)
        if pw.take is not None:
            pw.take.answer()  # the SDK has one job-take open at a time: an older one is stale
        take = Take(max(1, wanted), asyncio.get_running_loop().create_future())
        pw.take = take
        take.timer = pool.clock.call_later(TAKE_HOLD_S, take.answer)
        if pw.refreshing:
            pass  # the old process of a stopPod: held until it is gone, never served
        elif pw.worker.state in ("initializing", "unhealthy"):
            pool.worker_ready(pw.worker)  # pumps
        else:
            pool.pump()
        try:
            jobs = await take.future
        except asyncio.CancelledError:
            self.lost_in_transit(pw, take.jobs)  # the worker hung up (or the emulator stops)
            raise
        finally:
            if pw.take is take:
                pw.take = None
            if take.timer is not None:
                take.timer.cancel()
        return [job for job in jobs if pw.current(job.id) is job]

    def lost_in_transit(self, pw: ProcessWorker, jobs: list[Job]) -> None:
        """The job-take reply could not be sent (the worker hung up): the jobs are lost."""
        for job in jobs:
            if pw.current(job.id) is job:
                del pw.running[job.id]
                self.pool.job_lost(job)

    async def stop_signals(self, pw: ProcessWorker) -> list[str]:
        if not pw.stop_ids:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            pw.stop_waiter = waiter
            timer = self.pool.clock.call_later(STOP_HOLD_S, pw.wake_stop_poll)
            try:
                await waiter
            finally:
                timer.cancel()
                if pw.stop_waiter is waiter:
                    pw.stop_waiter = None
        ids, pw.stop_ids = pw.stop_ids, []
        return ids

    def done(self, pw: ProcessWorker, job_id: str, body: Any) -> None:
        """job-done: a progress update (`status: IN_PROGRESS`) or the job's result."""
        job = pw.current(job_id)
        if job is None or not isinstance(body, dict):
            return  # a late update never overwrites a final state
        if body.get("status") == "IN_PROGRESS":
            try:
                job.set_output(body.get("output"))
            except (TypeError, ValueError):
                return
            job.notify()
            return
        del pw.running[job_id]
        if body.get("stopPod"):
            pw.refreshing = True
        error = body.get("error")
        output = body.get("output")
        if error:
            text = error if isinstance(error, str) else json.dumps(error)
            self.pool.end(job, JobStatus.FAILED, output=output, error=text)
        else:
            self.pool.end(job, JobStatus.COMPLETED, output=output)
        if pw.refreshing and pw.worker in self.pool.workers:
            # `stopPod`: the platform replaces the worker. The SDK ends its own loop only when
            # `refresh_worker` is in start()'s config; a handler's own flag needs the stop from us.
            pw.worker.set_timer(None)
            pw.worker.state = "initializing"
            if pw.process is not None:
                self._background(pw.process.stop())

    def result_too_large(self, pw: ProcessWorker, job_id: str, limit: int) -> None:
        job = pw.current(job_id)
        if job is not None:
            del pw.running[job_id]
            self.pool.end(job, JobStatus.FAILED, error=f"worker result over {limit // (1024 * 1024)} MiB")

    def stream(self, pw: ProcessWorker, job_id: str, body: Any) -> None:
        job = pw.current(job_id)
        if job is None or not isinstance(body, dict) or "output" not in body:
            return
        for piece in split_chunk(body["output"]):
            self.pool.jobs.push_chunk(job, piece)

    # -- the control API ----------------------------------------------------------------------------
    def describe(self) -> list[dict[str, Any]]:
        return [pw.describe() for pw in self.workers.values()]

    def logs(self, worker_id: str) -> dict[str, Any] | None:
        pw = self.workers.get(worker_id)
        if pw is None:
            pw = next((r for r in self.retired if r.worker.id == worker_id), None)
        return None if pw is None else pw.logs()

    def all_logs(self) -> list[dict[str, Any]]:
        return [pw.logs() for pw in [*self.retired, *self.workers.values()]]

"""Job helpers for tests: submit, poll to a state, keep workers busy, remember jobs to clean up.

No helper assumes how many workers the target has: it reads /health, and reads it again, since
real endpoints scale. Every wait is bounded by the profile's `job_timeout_s` and a job count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance.checks import FINAL
from conformance.client import ApiClient, Reply
from conformance.profile import Profile
from conformance.timekeeper import Announcer, Timekeeper
from conformance.violations import HarnessError
from conformance.workload import Workload
from contract.polling import Verdict, backoff, verdict

MAX_BLOCKERS = 64
"""Most jobs one helper submits to fill the workers or to get one job queued."""
QUEUE_DEPTH = 4
"""Jobs /health must count in the queue when a burst's last job is taken as 'queued'."""


@dataclass
class Jobs:
    api: ApiClient
    clock: Timekeeper
    profile: Profile
    workload: Workload
    to_cancel: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    """Long jobs of this test seen running (until cleanup)."""
    seen: dict[str, list[str]] = field(default_factory=dict)
    """Every status each job was seen in, in order (duplicates collapsed)."""

    def submit(self, job_input: Any, *, blocker: bool = False, **extra: Any) -> str:
        reply = self.api.run(job_input, **extra)
        if reply.status != 200 or not isinstance(reply.body, dict) or not reply.body.get("id"):
            raise HarnessError(f"could not submit a job: HTTP {reply.status} {reply.text[:200]}")
        job_id = str(reply.body["id"])
        self._saw(job_id, reply.body.get("status"))
        if blocker:
            self.to_cancel.append(job_id)
        return job_id

    def runsync(self, job_input: Any, *, wait_ms: int | None = None, **extra: Any) -> Reply:
        """/runsync, with a manual clock moved while the server holds the call (busy workers)."""
        held_s = (wait_ms / 1000 if wait_ms is not None else 90.0) + 1.0
        return self.clock.while_held(
            lambda: self.api.runsync(job_input, wait_ms=wait_ms, **extra), advance_s=held_s
        )

    def status(self, job_id: str, **kwargs: Any) -> Reply:
        reply = self.api.status(job_id, **kwargs)
        if reply.status == 200 and isinstance(reply.body, dict):
            self._saw(job_id, reply.body.get("status"))
        return reply

    def state(self, job_id: str) -> str | None:
        """The job's status now (None for a 404 or a body without one)."""
        body = self.status(job_id).body
        return str(body["status"]) if isinstance(body, dict) and "status" in body else None

    def wait_for(
        self, job_id: str, states: frozenset[str] | set[str], *, within_s: float | None = None
    ) -> dict[str, Any]:
        """Poll /status until the job is in one of `states` (404 counts as 'gone')."""

        def reached(reply: Reply) -> bool:
            seen = verdict(reply.status, reply.body, states)
            return seen is Verdict.REACHED or (seen is Verdict.GONE and "gone" in states)

        reply = self.clock.poll(
            lambda: self.status(job_id),
            reached,
            within_s=self.profile.job_timeout_s if within_s is None else within_s,
            what=f"job {job_id} in {sorted(states)}",
        )
        return reply.body if isinstance(reply.body, dict) else {"status": "gone", "http": reply.status}

    def wait_final(self, job_id: str, *, within_s: float | None = None) -> dict[str, Any]:
        return self.wait_for(job_id, FINAL, within_s=within_s)

    def status_after_window(self, job_id: str, window_s: float, slack_s: float) -> Reply:
        """/status once `window_s` seconds have passed and the job answers 404, or, if it never
        does, `slack_s` seconds later: the window's slack is polled, not slept through, so a
        target that deletes on time is seen at once."""
        announcer = Announcer(f"job {job_id} to be gone", window_s + slack_s)
        self.clock.pass_time(window_s)
        waited, steps = 0.0, backoff(0.05, 1.5, 1.0)
        while True:
            announcer.tick()
            reply = self.status(job_id)
            if reply.status == 404 or waited >= slack_s:
                return reply
            step = min(next(steps), slack_s - waited)
            self.clock.pass_time(step)
            waited += step

    def free_workers(self) -> int:
        """Workers /health shows idle or starting (a job submitted now may start on one)."""
        reply = self.api.health()
        body = reply.body if reply.status == 200 and isinstance(reply.body, dict) else {}
        workers = body.get("workers") if isinstance(body.get("workers"), dict) else None
        if workers is None:
            raise HarnessError(f"/health gave no worker counters: HTTP {reply.status} {reply.text[:200]}")
        return sum(int(workers.get(k) or 0) for k in ("idle", "initializing"))

    def fill_workers(self, seconds: float = 600.0, job_input: Any = None) -> list[str]:
        """Occupy every running worker with a long job; returns the running ones (at least one).

        Blockers are added while /health shows an idle or starting worker, each followed until it
        runs; one that stays queued while no worker is free ends the filling (it is cancelled with
        the others after the test)."""
        blocker = job_input if job_input is not None else self.workload.slow(seconds)
        running = [j for j in self.busy if self.state(j) == "IN_PROGRESS"]
        announcer = Announcer("workers to take the suite's long jobs", self.profile.job_timeout_s)
        for _ in range(MAX_BLOCKERS):
            announcer.tick()
            if running and self.free_workers() == 0:
                return running
            job_id = self.submit(blocker, blocker=True)
            if not self._runs_or_stays_queued(job_id, need_running=not running):
                return running
            running.append(job_id)
            self.busy.append(job_id)
        raise HarnessError(f"/health still shows free workers after {MAX_BLOCKERS} long jobs")

    def queued_job(self, job_input: Any) -> str:
        """A job seen IN_QUEUE: the running workers filled, then submits until one stays queued."""
        if self.workload.can_block():
            self.fill_workers()
            for _ in range(MAX_BLOCKERS):
                job_id = self.submit(job_input, blocker=True)
                if self.state(job_id) == "IN_QUEUE":
                    return job_id
                # a worker had room after all (a free slot of a concurrent worker, a worker that
                # just started): one more long job for it, then try again
                self.submit(self.workload.slow(600), blocker=True)
            raise HarnessError(f"no job stayed IN_QUEUE behind {MAX_BLOCKERS} long jobs")
        # no long job at hand (foreign worker, no --slow-input): bursts of the sample input,
        # growing until the last job of a burst waits behind QUEUE_DEPTH others or more, so that
        # what the test does next reaches it before a worker does
        sent, size = 0, 4
        while sent < MAX_BLOCKERS:
            burst = self.burst(job_input, min(size, MAX_BLOCKERS - sent))
            sent, size = sent + len(burst), size * 2
            if self.state(burst[-1]) == "IN_QUEUE" and self.queued_count() >= QUEUE_DEPTH:
                return burst[-1]
        pytest.skip(  # not a fault of the target: its worker is faster than the suite's submits
            f"foreign worker: no job stayed IN_QUEUE after {sent} quick submits of the sample input; "
            "pass --slow-input FILE so the suite can keep the workers busy"
        )

    def burst(self, job_input: Any, count: int) -> list[str]:
        """`count` jobs submitted back to back (cancelled after the test if still there)."""
        return [self.submit(job_input, blocker=True) for _ in range(count)]

    def queued_count(self) -> int:
        reply = self.api.health()
        jobs = reply.body.get("jobs") if isinstance(reply.body, dict) else None
        return int(jobs.get("inQueue") or 0) if isinstance(jobs, dict) else 0

    def _runs_or_stays_queued(self, job_id: str, *, need_running: bool) -> bool:
        """Follow a new blocker: True once it runs, False when it waits while no worker is free
        (never while the suite has no running blocker yet: a cold start is waited out)."""
        free: list[int] = []

        def settled(reply: Reply) -> bool:
            state = reply.body.get("status") if isinstance(reply.body, dict) else None
            if state == "IN_PROGRESS":
                return True
            if state != "IN_QUEUE":
                raise HarnessError(f"a long job ended early: {reply.text[:200]}")
            if need_running:
                return False
            free.append(self.free_workers())
            return free[-1] == 0

        reply = self.clock.poll(
            lambda: self.status(job_id),
            settled,
            within_s=self.profile.job_timeout_s,
            what=f"long job {job_id} to start",
        )
        return isinstance(reply.body, dict) and reply.body.get("status") == "IN_PROGRESS"

    def cleanup(self) -> None:
        for job_id in self.to_cancel:
            try:
                self.api.cancel(job_id)
            except HarnessError:
                pass  # best effort: the target went away
        self.to_cancel.clear()
        self.busy.clear()

    def _saw(self, job_id: str, status: Any) -> None:
        if not isinstance(status, str):
            return
        history = self.seen.setdefault(job_id, [])
        if not history or history[-1] != status:
            history.append(status)

"""Job helpers for tests: submit, poll to a state, remember jobs to clean up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.checks import FINAL
from conformance.client import ApiClient, Reply
from conformance.profile import Profile
from conformance.timekeeper import Timekeeper
from conformance.violations import HarnessError
from contract.polling import Verdict, verdict


@dataclass
class Jobs:
    api: ApiClient
    clock: Timekeeper
    profile: Profile
    to_cancel: list[str] = field(default_factory=list)
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

    def fill_workers(self, seconds: float = 600.0) -> list[str]:
        """Occupy every worker with a long job so the next job stays queued."""
        blockers = [self.submit({"sleep": seconds}, blocker=True) for _ in range(self.profile.workers_max)]
        for job_id in blockers:
            self.wait_for(job_id, {"IN_PROGRESS"})
        return blockers

    def cleanup(self) -> None:
        for job_id in self.to_cancel:
            try:
                self.api.cancel(job_id)
            except HarnessError:
                pass  # best effort: the target went away
        self.to_cancel.clear()

    def _saw(self, job_id: str, status: Any) -> None:
        if not isinstance(status, str):
            return
        history = self.seen.setdefault(job_id, [])
        if not history or history[-1] != status:
            history.append(status)

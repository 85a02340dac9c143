"""One open-model user class per endpoint operation, each driven at its flow's rate.

Operations that act on a job (status, stream, cancel, retry) keep one prepared job per user,
made with `[setup]` calls between scheduled sends, so the timed call is the operation alone.
"""

from __future__ import annotations

import json
from typing import Any

from contract.states import RETRYABLE_NAMES
from locustfiles._base import FINAL, PodbenchUser, configure
from locustfiles._runtime import RUNTIME

RETRY_FAIL_INPUT = {"fail": "podbench: failing on purpose so /retry has a FAILED job"}


def _job_id(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("id"), str):
        return str(body["id"])
    return None


@configure
class RunUser(PodbenchUser):
    flow = "run"

    def fire(self, intended: float) -> None:
        self.submit("run", intended)


@configure
class RunsyncUser(PodbenchUser):
    flow = "runsync"

    def fire(self, intended: float) -> None:
        reply = self.submit("runsync", intended)
        body = reply.json()
        job_id = _job_id(body)
        if reply.ok and job_id and isinstance(body, dict):
            final = body if body.get("status") in FINAL else None
            self.finish_job("runsync", job_id, reply.sent, final, None)


class _HeldJobUser(PodbenchUser):
    """Holds one job id, prepared outside the timed send."""

    abstract = True
    held: str | None = None

    def on_start(self) -> None:
        self.held = self.prepare()

    def prepare(self) -> str | None:
        return _job_id(self.submit("run", None, setup=True).json())

    def fire(self, intended: float) -> None:
        job_id = self.held or self.prepare()
        if job_id is None:
            RUNTIME.recorder.count(intended, self.op, "dropped_sends")  # setup refused: no job to act on
            return
        self.act(job_id, intended)

    def act(self, job_id: str, intended: float) -> None:
        raise NotImplementedError


@configure
class StatusUser(_HeldJobUser):
    flow = "status"

    def act(self, job_id: str, intended: float) -> None:
        self.call("status", "GET", f"/status/{job_id}", intended=intended)


@configure
class StreamUser(_HeldJobUser):
    flow = "stream"

    def prepare(self) -> str | None:
        job_id = _job_id(self.submit("run", None, setup=True).json())
        if job_id is not None:
            self.poll_until_final(job_id, setup=True)  # a finished stream answers at once, no long-poll
        return job_id

    def act(self, job_id: str, intended: float) -> None:
        self.call("stream", "GET", f"/stream/{job_id}", intended=intended)


@configure
class CancelUser(_HeldJobUser):
    flow = "cancel"

    def act(self, job_id: str, intended: float) -> None:
        self.call("cancel", "POST", f"/cancel/{job_id}", intended=intended)
        self.held = self.prepare()


@configure
class RetryUser(_HeldJobUser):
    flow = "retry"

    def prepare(self) -> str | None:
        body = json.dumps({"input": RETRY_FAIL_INPUT}).encode()
        job_id = _job_id(self.submit("run", None, setup=True, body=body).json())
        return self.refail(job_id)

    def refail(self, job_id: str | None) -> str | None:
        if job_id is None:
            return None
        final, _ = self.poll_until_final(job_id, setup=True)
        return job_id if final is not None and final.get("status") in RETRYABLE_NAMES else None

    def act(self, job_id: str, intended: float) -> None:
        reply = self.call("retry", "POST", f"/retry/{job_id}", intended=intended)
        self.held = self.refail(job_id) if reply.ok else None


@configure
class PurgeQueueUser(PodbenchUser):
    flow = "purge_queue"

    def fire(self, intended: float) -> None:
        self.call("purge_queue", "POST", "/purge-queue", intended=intended)


@configure
class HealthUser(PodbenchUser):
    flow = "health"

    def fire(self, intended: float) -> None:
        self.call("health", "GET", "/health", intended=intended)

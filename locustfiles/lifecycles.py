"""Job lifecycle scenarios: one scheduled token starts a whole job and follows it to the end.

Their submit is timed as `run`/`runsync` (and counts against that operation's offered rate);
their polls are timed as `status` and `stream`, unscheduled, so they carry no corrected latency.
"""

from __future__ import annotations

import time
from typing import Any

import gevent

from locustfiles._base import FINAL, PodbenchUser, configure
from locustfiles._runtime import RUNTIME


def _job_id(body: Any) -> str | None:
    if isinstance(body, dict) and isinstance(body.get("id"), str):
        return str(body["id"])
    return None


@configure
class RunPollUser(PodbenchUser):
    """Submit with /run, then poll /status with backoff until the job is final."""

    flow = "run_poll"

    def fire(self, intended: float) -> None:
        reply = self.submit("run", intended)
        job_id = _job_id(reply.json())
        if not reply.ok or job_id is None:
            return
        final, polls = self.poll_until_final(job_id)
        self.finish_job("run", job_id, reply.sent, final, polls)


@configure
class RunsyncFallbackUser(PodbenchUser):
    """Submit with /runsync; when it returns a non-final state, fall back to polling /status."""

    flow = "runsync_fallback"

    def fire(self, intended: float) -> None:
        reply = self.submit("runsync", intended)
        body = reply.json()
        job_id = _job_id(body)
        if not reply.ok or job_id is None or not isinstance(body, dict):
            return
        if body.get("status") in FINAL:
            self.finish_job("runsync", job_id, reply.sent, body, 0)
            return
        final, polls = self.poll_until_final(job_id)
        self.finish_job("runsync", job_id, reply.sent, final, polls)


@configure
class StreamConsumerUser(PodbenchUser):
    """Submit a streaming job and read /stream until it ends: time to first chunk, gaps between."""

    flow = "stream_consumer"

    def fire(self, intended: float) -> None:
        reply = self.submit("run", intended)
        job_id = _job_id(reply.json())
        if not reply.ok or job_id is None:
            return
        submitted = reply.sent
        rec = RUNTIME.recorder
        last_chunk: float | None = None
        polls = 0
        deadline = time.time() + self.spec.job_timeout_s
        status = None
        backoff = self.poll_backoff()
        while time.time() < deadline:
            got = self.call("stream", "GET", f"/stream/{job_id}")
            polls += 1
            body = got.json()
            if got.status == 404:
                break  # purged or expired: nothing more will come
            if not got.ok or not isinstance(body, dict):
                gevent.sleep(next(backoff))  # a dead or failing target: back off, never spin
                continue
            backoff = self.poll_backoff()
            chunks = body.get("stream") or []
            for _ in chunks:
                if last_chunk is None:
                    rec.job_metric(submitted, "stream", "first_chunk", (got.done - submitted) * 1000.0)
                else:
                    rec.job_metric(submitted, "stream", "chunk_gap", (got.done - last_chunk) * 1000.0)
                last_chunk = got.done
            status = body.get("status")
            if status in FINAL and not chunks:
                break
        final = None
        if status in FINAL:
            info = self.call("status", "GET", f"/status/{job_id}")  # delayTime/executionTime live here
            polls += 1
            final = info.json() if info.ok and isinstance(info.json(), dict) else {"status": status}
        self.finish_job("run", job_id, submitted, final, polls)

"""The abstract open-model user: claim an intended send time, send, record what happened.

Each concrete user class drives one flow of the plan. Locust spawns exactly `slots` users of it
(`fixed_count`), and they share one schedule per process, so a slow response ties up one slot
while the others keep the rate. Requests are timed here from the actual send and from the
intended send; 429s, timeouts and other failures are counted apart.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import gevent
from locust import FastHttpUser, constant, task

from contract.operations import JOB_ID, LOAD_OPERATIONS, operation
from contract.polling import Verdict, backoff, verdict
from contract.states import FINAL_NAMES
from locustfiles._auth import auth_headers, endpoint_id
from locustfiles._one_send import send_once
from locustfiles._plan import Flow
from locustfiles._runtime import RUNTIME

FINAL = FINAL_NAMES
LABELS = {name: "/" + operation(name).path.replace(JOB_ID, "[id]") for name in LOAD_OPERATIONS}
"""Each operation's name in Locust's own statistics (`/status/[id]`)."""
LABELS["openai"] = "/openai/v1/..."
IDLE_SLEEP_S = 0.25


def _is_timeout(error: object) -> bool:
    if error is None:
        return False
    name = type(error).__name__.lower()
    return "timeout" in name or "timed out" in str(error).lower()


@dataclass
class Reply:
    status: int
    content: bytes | None
    sent: float
    done: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        try:
            return json.loads(self.content or b"null")
        except ValueError:
            return None


def configure(cls: type[PodbenchUser]) -> type[PodbenchUser]:
    """Size a user class from the plan: its slots, timeouts and pre-encoded request body."""
    flow = RUNTIME.plan.flows.get(cls.flow)
    if flow is None:
        cls.fixed_count = 0
        cls.weight = 0
        return cls
    cls.fixed_count = flow.slots
    cls.network_timeout = flow.timeout_s
    cls.connection_timeout = min(flow.timeout_s, 10.0)
    return cls


def job_input(flow: Flow) -> Any:
    data = flow.input
    if flow.payload_bytes > 0:
        data = {**(data if isinstance(data, dict) else {"value": data}), "pad": "x" * flow.payload_bytes}
    return data


class PodbenchUser(FastHttpUser):
    abstract = True
    flow: ClassVar[str] = ""
    wait_time = constant(0)
    concurrency = 1
    host = RUNTIME.plan.base_url or None
    instances: ClassVar[int] = 0

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        send_once(self.client)  # a dropped GET is a connection error, not a silent resend
        plan = RUNTIME.plan
        self.spec = plan.flows.get(self.flow) or Flow(self.flow, rate=0.0, slots=0)
        self.op = self.spec.submit_op
        self.prefix = f"/{endpoint_id(plan)}"
        self.headers = auth_headers(plan)
        self.json_headers = auth_headers(plan, json_body=True)
        self.body = json.dumps({"input": job_input(self.spec)}).encode()
        self.trace_body: bytes | None = None
        """The body of the replayed trace row being sent (None: `body`)."""
        self.bodies = [
            json.dumps({"input": job_input(Flow(self.flow, 0.0, 0, data, self.spec.payload_bytes))}).encode()
            for data in plan.job_inputs
        ]
        PodbenchUser.instances += 1  # a reproducible draw per user: seed, flow, order of creation
        self.rng = random.Random(f"{plan.seed}:{self.flow}:{PodbenchUser.instances}")

    @task
    def tick(self) -> None:
        claim = RUNTIME.claim(self.flow, self.op, type(self).__name__)
        if claim is None or claim.intended is None:
            gevent.sleep(IDLE_SLEEP_S)
            return
        self.trace_body = claim.body
        RUNTIME.in_flight += 1
        try:
            self.fire(claim.intended)
        finally:
            RUNTIME.in_flight -= 1

    def fire(self, intended: float) -> None:
        raise NotImplementedError

    def call(
        self,
        op: str,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        intended: float | None = None,
        setup: bool = False,
    ) -> Reply:
        """One request, scheduled when it has an `intended` send time, else a follow-up (a poll or a
        read of a job scenario); `setup` calls (preparing a job to cancel, retry or read) stay out
        of op stats. Locust's own stats name follow-ups and setup calls apart too."""
        label = LABELS[op] + (" [setup]" if setup else " [follow-up]" if intended is None else "")
        headers = self.json_headers if body is not None else self.headers
        sent = time.time()
        resp = self.client.request(method, self.prefix + path, data=body, headers=headers, name=label)  # type: ignore[arg-type]
        done = time.time()
        RUNTIME.sent += 1
        status = resp.status_code or 0
        timeout = status == 0 and _is_timeout(getattr(resp, "error", None))
        RUNTIME.observe(done, status, timeout)
        if setup:
            RUNTIME.recorder.setup_request(status, timeout)
        else:
            flow = None if intended is None else self.flow
            RUNTIME.recorder.request(op, sent, intended, done, status, timeout, flow)
        content = resp.content if status else None
        return Reply(status, content, sent, done)

    # --- job helpers shared by the scenarios -------------------------------------------
    def submit(
        self, op: str, intended: float | None, *, setup: bool = False, body: bytes | None = None
    ) -> Reply:
        path = "/run" if op == "run" else self._runsync_path()
        chosen = self.rng.choice(self.bodies) if self.bodies else self.body
        body = body or (None if setup else self.trace_body) or chosen
        reply = self.call(op, "POST", path, body=body, intended=intended, setup=setup)
        if reply.ok and not setup:
            RUNTIME.recorder.count(reply.sent, op, "jobs_submitted")
        return reply

    def _runsync_path(self) -> str:
        wait = self.spec.runsync_wait_ms
        return "/runsync" if wait is None else f"/runsync?wait={wait}"

    def poll_backoff(self) -> Iterator[float]:
        """Seconds to wait before each next poll: the profile's `poll` backoff, capped at its max."""
        spec = self.spec
        return backoff(spec.poll_initial_ms / 1000.0, spec.poll_factor, spec.poll_max_ms / 1000.0)

    def poll_until_final(self, job_id: str, *, setup: bool = False) -> tuple[dict[str, Any] | None, int]:
        """Poll /status with backoff (contract.polling: the docs' best practice) until final or the
        job timeout; None when the job is gone (404) or the timeout passed."""
        spec = self.spec
        deadline = time.time() + spec.job_timeout_s
        polls = 0
        for delay in self.poll_backoff():
            if time.time() >= deadline:
                break
            gevent.sleep(delay)
            reply = self.call("status", "GET", f"/status/{job_id}", setup=setup)
            polls += 1
            body = reply.json()
            seen = verdict(reply.status, body)
            if seen is Verdict.REACHED:
                return body, polls
            if seen is Verdict.GONE:
                return None, polls
        return None, polls

    def finish_job(
        self, op: str, job_id: str, submitted: float, body: dict[str, Any] | None, polls: int | None
    ) -> None:
        """Record a job's end: state counts, server-reported times, end to end, polls per job."""
        rec = RUNTIME.recorder
        now = time.time()
        if body is None:
            rec.count(submitted, op, "jobs_unfinished")
            return
        status = str(body.get("status"))
        delay, execution = body.get("delayTime"), body.get("executionTime")
        if isinstance(delay, int | float):
            rec.job_metric(submitted, op, "delay_time", float(delay))
        if isinstance(execution, int | float):
            rec.job_metric(submitted, op, "execution_time", float(execution))
        e2e_ms = (now - submitted) * 1000.0
        rec.job_metric(submitted, op, "end_to_end", e2e_ms)
        if polls is not None:
            rec.count(submitted, op, "polls", polls)
            rec.count(submitted, op, "jobs_polled")
        rec.job_final(
            submitted, op, [job_id, submitted, status, delay, execution, round(e2e_ms, 3), polls or 0], status
        )

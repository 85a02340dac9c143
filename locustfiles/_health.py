"""The /health sampler: about once a second, queue depth and workers by state, for health.csv.

It runs in one process only (the master or the single local process) on its own HTTP session,
so its calls show in Locust's stats as `/health [sampler]` but not in the scheduled operations.
They still count against the endpoint's rate limits like any other call.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import gevent
from locust.contrib.fasthttp import FastHttpSession
from locust.env import Environment

from contract import health
from locustfiles._auth import auth_headers, endpoint_id
from locustfiles._one_send import send_once
from locustfiles._plan import Plan

JOB_FIELDS = {health.csv_column(field): field for field in health.JOB_FIELDS}
"""health.csv column -> the /health reply's `jobs` field."""
WORKER_FIELDS = health.WORKER_FIELDS


class HealthSampler:
    def __init__(
        self, environment: Environment, plan: Plan, host: str, observe: Callable[[float, int, bool], None]
    ) -> None:
        self.plan = plan
        self.observe = observe
        """Told of every sample's outcome (done, status, timed out): the sampler counts as traffic."""
        self.session = send_once(
            FastHttpSession(host.rstrip("/"), environment.events.request, None, network_timeout=5.0)
        )
        self.path = f"/{endpoint_id(plan)}/health"
        self.headers = auth_headers(plan)
        self.rows: list[dict[str, Any]] = []

    def sample(self) -> dict[str, Any]:
        sent = time.time()
        resp = self.session.request("GET", self.path, headers=self.headers, name="/health [sampler]")
        done = time.time()
        row: dict[str, Any] = {
            "t": sent,  # epoch seconds here; the writer makes it relative to the run's start
            "latency_ms": round((done - sent) * 1000, 3),
        }
        row["status"] = resp.status_code or 0
        self.observe(done, row["status"], "timeout" in type(getattr(resp, "error", None)).__name__.lower())
        try:
            body = json.loads(resp.content or b"null")
        except ValueError:
            body = None
        if isinstance(body, dict):
            jobs = body.get("jobs") or {}
            workers = body.get("workers") or {}
            row.update({ours: jobs.get(theirs) for ours, theirs in JOB_FIELDS.items()})
            row.update({name: workers.get(name) for name in WORKER_FIELDS})
        return row

    def run(self) -> None:
        interval = self.plan.health_interval_s
        next_at = time.time()
        while True:
            self.rows.append(self.sample())
            next_at += interval
            gevent.sleep(max(0.0, next_at - time.time()))

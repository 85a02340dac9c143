"""Claims that need the emulator's control API: a worker that stops reporting (TIMED_OUT)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conformance import checks
from conformance.client import ApiClient, ControlClient
from conformance.jobs import Jobs
from conformance.plugin import verifies
from conformance.violations import Recording


@pytest.fixture
def crashing_workers(control: ControlClient) -> Iterator[ControlClient]:
    control.call("PUT", f"endpoints/{control.endpoint_id}/faults", {"worker_crash_rate": 1.0})
    yield control
    control.call("PUT", f"endpoints/{control.endpoint_id}/faults", {"worker_crash_rate": 0.0})


@pytest.mark.emulator_only
@verifies("retry.requeues")
def test_retry_requeues_a_timed_out_job(
    api: ApiClient, jobs: Jobs, crashing_workers: ControlClient, record: Recording
) -> None:
    job_id = jobs.submit({"output": "lost then found"})
    first = jobs.wait_final(job_id)
    checks.that(
        "retry.requeues",
        first.get("status") == "TIMED_OUT",
        expected="TIMED_OUT (worker stopped reporting)",
        observed=first,
    )
    crashing_workers.call(
        "PUT", f"endpoints/{crashing_workers.endpoint_id}/faults", {"worker_crash_rate": 0.0}
    )
    reply = api.retry(job_id)
    checks.status_is("retry.requeues", reply, 200)
    checks.that(
        "retry.requeues", (reply.body or {}).get("id") == job_id, expected=job_id, observed=reply.body
    )
    second = jobs.wait_final(job_id)
    record(states=jobs.seen[job_id], final=second)
    checks.that(
        "retry.requeues",
        second.get("status") == "COMPLETED" and second.get("output") == "lost then found",
        expected="the original input run again to COMPLETED",
        observed=second,
    )


@pytest.mark.emulator_only
@verifies("status.schema")
def test_a_timed_out_job_matches_the_job_schema(
    jobs: Jobs, crashing_workers: ControlClient, record: Recording
) -> None:
    final = jobs.wait_final(jobs.submit({"output": "lost"}))
    record(timed_out=final)
    checks.that("status.schema", final.get("status") == "TIMED_OUT", expected="TIMED_OUT", observed=final)
    checks.matches_schema("status.schema", "job", final)

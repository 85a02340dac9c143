"""POST /runsync: the complete result in one response, or the id when the wait runs out."""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.jobs import Jobs
from conformance.plugin import verifies
from conformance.violations import Recording, Severity
from conformance.workload import Workload


@pytest.mark.portable
@verifies("runsync.result")
def test_runsync_returns_the_complete_result(jobs: Jobs, workload: Workload) -> None:
    reply = jobs.runsync(workload.completing({"answer": [1, 2, 3]}))
    checks.status_is("runsync.result", reply, 200)
    body = checks.json_reply("runsync.result", reply)
    done, expected = workload.output_check({"answer": [1, 2, 3]}, body)
    checks.that("runsync.result", done, expected=expected, observed=body)
    # the complete result: what /status says of the same job, output included
    status = jobs.status(str(body.get("id")))
    shown = status.body if isinstance(status.body, dict) else {}
    checks.that(
        "runsync.result",
        status.status == 200 and shown.get("output") == body.get("output"),
        expected={"/status output": body.get("output")},
        observed=f"HTTP {status.status}: {status.text[:200]}",
    )


@pytest.mark.portable
@verifies("runsync.schema")
def test_runsync_reply_matches_the_documented_shape(
    jobs: Jobs, workload: Workload, record: Recording
) -> None:
    body = checks.json_reply("runsync.schema", jobs.runsync(workload.completing("shape")))
    record(keys=sorted(body))
    checks.matches_schema("runsync.schema", "job", body)
    # a worker may return nothing: then there is no output to show (the sample's own run tells)
    keys: tuple[str, ...] = ("delayTime", "executionTime", "id", "output", "status")
    if workload.reference is not None and "output" not in workload.reference:
        keys = ("delayTime", "executionTime", "id", "status")
    missing = [k for k in keys if k not in body]
    checks.that(
        "runsync.schema",
        not missing,
        expected=", ".join(keys),
        observed=f"missing {missing}",
        severity=Severity.MAJOR,
    )


@pytest.mark.portable
@verifies("runsync.sync_prefix")
def test_runsync_job_ids_start_with_sync(jobs: Jobs, workload: Workload, record: Recording) -> None:
    body = checks.json_reply("runsync.sync_prefix", jobs.runsync(workload.completing("id")))
    record(id=body.get("id"))
    checks.that(
        "runsync.sync_prefix",
        str(body.get("id", "")).startswith("sync-"),
        expected="an id starting with 'sync-'",
        observed=body.get("id"),
        severity=Severity.MINOR,
    )


@pytest.mark.portable
@verifies("runsync.wait_expiry")
def test_runsync_answers_the_id_when_the_wait_runs_out(
    jobs: Jobs, workload: Workload, record: Recording
) -> None:
    reply = jobs.runsync(workload.slow(5, "late"), wait_ms=1000)
    record(status=reply.status, body=reply.body)
    checks.status_is("runsync.wait_expiry", reply, 200)
    body = checks.json_reply("runsync.wait_expiry", reply)
    checks.that(
        "runsync.wait_expiry",
        body.get("status") in ("IN_QUEUE", "IN_PROGRESS") and bool(body.get("id")),
        expected="the id and a non-final status",
        observed=body,
    )
    final = jobs.wait_final(body["id"])
    done, _ = workload.output_check("late", final)
    checks.that("runsync.wait_expiry", done, expected="the job goes on and completes", observed=final)


@pytest.mark.portable
@verifies("runsync.failed_reply")
def test_runsync_of_a_failing_job_is_recorded(jobs: Jobs, workload: Workload, record: Recording) -> None:
    reply = jobs.runsync(workload.failing("conformance says no"))
    record(
        http_status=reply.status,
        content_type=reply.headers.get("content-type"),
        body=reply.body or reply.text[:300],
    )

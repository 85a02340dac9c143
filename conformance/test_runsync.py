"""POST /runsync: the complete result in one response, or the id when the wait runs out."""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.jobs import Jobs
from conformance.plugin import verifies
from conformance.violations import Recording, Severity


@pytest.mark.portable
@verifies("runsync.result")
def test_runsync_returns_the_complete_result(jobs: Jobs) -> None:
    reply = jobs.runsync({"output": {"answer": [1, 2, 3]}})
    checks.status_is("runsync.result", reply, 200)
    body = checks.json_reply("runsync.result", reply)
    checks.that(
        "runsync.result",
        body.get("status") == "COMPLETED" and body.get("output") == {"answer": [1, 2, 3]},
        expected={"status": "COMPLETED", "output": {"answer": [1, 2, 3]}},
        observed=body,
    )


@pytest.mark.portable
@verifies("runsync.schema")
def test_runsync_reply_matches_the_documented_shape(jobs: Jobs, record: Recording) -> None:
    body = checks.json_reply("runsync.schema", jobs.runsync({"output": "shape"}))
    record(keys=sorted(body))
    checks.matches_schema("runsync.schema", "job", body)
    missing = [k for k in ("delayTime", "executionTime", "id", "output", "status") if k not in body]
    checks.that(
        "runsync.schema",
        not missing,
        expected="delayTime, executionTime, id, output, status",
        observed=f"missing {missing}",
        severity=Severity.MAJOR,
    )


@pytest.mark.portable
@verifies("runsync.sync_prefix")
def test_runsync_job_ids_start_with_sync(jobs: Jobs, record: Recording) -> None:
    body = checks.json_reply("runsync.sync_prefix", jobs.runsync({"output": "id"}))
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
def test_runsync_answers_the_id_when_the_wait_runs_out(jobs: Jobs, record: Recording) -> None:
    reply = jobs.runsync({"sleep": 5, "output": "late"}, wait_ms=1000)
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
    checks.that(
        "runsync.wait_expiry",
        final.get("status") == "COMPLETED" and final.get("output") == "late",
        expected="the job goes on and completes",
        observed=final,
    )


@pytest.mark.portable
@verifies("runsync.failed_reply")
def test_runsync_of_a_failing_job_is_recorded(jobs: Jobs, record: Recording) -> None:
    reply = jobs.runsync({"fail": "conformance says no"})
    record(
        http_status=reply.status,
        content_type=reply.headers.get("content-type"),
        body=reply.body or reply.text[:300],
    )

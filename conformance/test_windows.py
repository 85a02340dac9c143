"""Expiry windows: result retention (/run 30 min, /runsync 60 s), `?ttl=`, `policy.ttl`,
`policy.executionTimeout`. On the emulator the clock is advanced; on a real target these wait
the documented time: the long ones are marked slow, the short ones (`?ttl=` of 6 s, `policy.ttl`
of 10 s) take seconds and always run."""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.client import ApiClient
from conformance.jobs import Jobs
from conformance.plugin import verifies
from conformance.profile import Profile
from conformance.timekeeper import Timekeeper
from conformance.violations import Recording, Severity
from conformance.workload import Workload


def _kept_then_gone(
    claim_id: str,
    jobs: Jobs,
    clock: Timekeeper,
    job_id: str,
    window_s: float,
    slack_s: float,
    record: Recording,
) -> None:
    clock.pass_time(max(0.0, window_s - 2 * slack_s))
    before = jobs.status(job_id)
    record(window_s=window_s, status_before_window=before.status)
    checks.that(
        claim_id,
        before.status == 200 and before.body.get("status") == "COMPLETED",
        expected=f"the result still there {window_s - 2 * slack_s:g} s after completion",
        observed=f"HTTP {before.status}: {before.text[:200]}",
        severity=Severity.CRITICAL,
    )
    clock.pass_time(3 * slack_s)
    after = jobs.status(job_id)
    record(status_after_window=after.status)
    checks.that(
        claim_id,
        after.status == 404,
        expected=f"HTTP 404 {window_s + slack_s:g} s after completion",
        observed=f"HTTP {after.status}: {after.text[:200]}",
        severity=Severity.MAJOR,
    )


@pytest.mark.portable
@pytest.mark.slow
@verifies("run.retention")
def test_run_results_are_available_for_30_minutes(
    jobs: Jobs, clock: Timekeeper, profile: Profile, workload: Workload, record: Recording
) -> None:
    job_id = jobs.submit(workload.completing("kept"))
    jobs.wait_final(job_id)
    _kept_then_gone("run.retention", jobs, clock, job_id, profile.run_retention_s, profile.slack_s, record)


@pytest.mark.portable
@pytest.mark.slow
@verifies("runsync.retention")
def test_runsync_results_are_available_for_60_seconds(
    jobs: Jobs, clock: Timekeeper, profile: Profile, workload: Workload, record: Recording
) -> None:
    body = checks.json_reply("runsync.retention", jobs.runsync(workload.completing("brief")))
    checks.that("runsync.retention", body.get("status") == "COMPLETED", expected="COMPLETED", observed=body)
    _kept_then_gone(
        "runsync.retention", jobs, clock, body["id"], profile.runsync_retention_s, profile.slack_s, record
    )


@pytest.mark.portable
@verifies("status.ttl")
def test_status_ttl_removes_the_result_sooner(
    jobs: Jobs, profile: Profile, workload: Workload, record: Recording
) -> None:
    job_id = jobs.submit(workload.completing("short-lived"))
    jobs.wait_final(job_id)
    first = jobs.status(job_id, ttl_ms=6000)
    checks.status_is("status.ttl", first, 200)
    after = jobs.status_after_window(job_id, 6, profile.slack_s)
    record(status_after_ttl=after.status)
    checks.that(
        "status.ttl",
        after.status == 404,
        expected="HTTP 404 once the 6 s TTL ran out",
        observed=f"HTTP {after.status}: {after.text[:200]}",
        severity=Severity.MAJOR,
    )


@pytest.mark.portable
@verifies("status.ttl_meaning")
def test_what_status_ttl_governs_is_recorded(
    jobs: Jobs, clock: Timekeeper, workload: Workload, record: Recording
) -> None:
    job_id = jobs.submit(workload.slow(20, "ttl while running"), blocker=True)
    jobs.wait_for(job_id, {"IN_PROGRESS"})
    jobs.status(job_id, ttl_ms=6000)
    clock.pass_time(3)
    mid = jobs.status(job_id)
    clock.pass_time(5)
    late = jobs.status(job_id)
    record(
        ttl_on_running_job={
            "after_3_s": [mid.status, (mid.body or {}).get("status")],
            "after_8_s": [late.status, (late.body or {}).get("status")],
        }
    )


@pytest.mark.portable
@verifies("policy.ttl")
def test_policy_ttl_deletes_the_job_even_mid_run(
    jobs: Jobs, profile: Profile, workload: Workload, record: Recording
) -> None:
    """Mid-run with a long job (the contract, or --slow-input); with only the sample input, a job
    that completed is deleted all the same once its 10 s from submission are over."""
    if workload.can_block():
        job_id = jobs.submit(workload.slow(60, "never seen"), blocker=True, policy={"ttl": 10_000})
        jobs.wait_for(job_id, {"IN_PROGRESS"})
    else:
        job_id = jobs.submit(workload.completing("never seen"), policy={"ttl": 10_000})
    after = jobs.status_after_window(job_id, 10, profile.slack_s)
    record(status_after_ttl=after.status, body=after.body)
    checks.that(
        "policy.ttl",
        after.status == 404,
        expected="HTTP 404 once policy.ttl (10 s) ran out",
        observed=f"HTTP {after.status}: {after.text[:200]}",
        severity=Severity.MAJOR,
    )


@pytest.mark.portable
@pytest.mark.slow
@verifies("policy.execution_timeout")
def test_execution_timeout_fails_the_job(
    jobs: Jobs, profile: Profile, workload: Workload, record: Recording
) -> None:
    job_input = workload.slow(60, "too slow")
    job_id = jobs.submit(job_input, blocker=True, policy={"executionTimeout": 5000})
    final = jobs.wait_final(job_id, within_s=5 + profile.job_timeout_s)
    record(status=final.get("status"), error=final.get("error"), executionTime=final.get("executionTime"))
    checks.that(
        "policy.execution_timeout",
        final.get("status") == "FAILED" and "executionTimeout exceeded" in str(final.get("error")),
        expected={"status": "FAILED", "error": "executionTimeout exceeded"},
        observed=final,
    )


@pytest.mark.portable
@pytest.mark.slow
@verifies("retry.expired")
def test_an_expired_job_cannot_be_retried(
    api: ApiClient, jobs: Jobs, clock: Timekeeper, profile: Profile, workload: Workload, record: Recording
) -> None:
    body = checks.json_reply("retry.expired", jobs.runsync(workload.failing("expire me")))
    checks.that("retry.expired", body.get("status") == "FAILED", expected="FAILED", observed=body)
    clock.pass_time(profile.runsync_retention_s + profile.slack_s)
    reply = api.retry(body["id"])
    record(retry_status=reply.status, retry_body=reply.body or reply.text[:200])
    checks.that(
        "retry.expired",
        400 <= reply.status < 500,
        expected="HTTP 4xx for a retry after expiry",
        observed=f"HTTP {reply.status}: {reply.text[:200]}",
    )

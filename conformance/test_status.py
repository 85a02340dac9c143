"""GET /status: states, statistics and output of a job, as seen by polling."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import checks
from conformance.client import ApiClient, Reply
from conformance.jobs import Jobs
from conformance.plugin import verifies
from conformance.profile import Profile
from conformance.timekeeper import Timekeeper
from conformance.violations import Recording, Severity
from conformance.workload import Workload


@pytest.mark.portable
@verifies("status.lifecycle")
def test_polling_sees_only_legal_transitions_and_a_stable_id(
    api: ApiClient, jobs: Jobs, clock: Timekeeper, profile: Profile, workload: Workload, record: Recording
) -> None:
    job_id = jobs.submit(workload.completing("done", sleep_s=2))
    ids: set[str] = set()

    def fetch() -> Reply:
        reply = jobs.status(job_id)
        checks.status_is("status.lifecycle", reply, 200)
        ids.add(str(checks.json_reply("status.lifecycle", reply).get("id")))
        return reply

    clock.poll(
        fetch,
        lambda r: r.body.get("status") in checks.FINAL,
        within_s=profile.job_timeout_s,
        what="final state",
    )
    seen = jobs.seen[job_id]
    record(states=seen)
    checks.legal_transitions("status.lifecycle", seen)
    checks.that(
        "status.lifecycle", ids == {job_id}, expected=f"the id {job_id} on every reply", observed=sorted(ids)
    )
    checks.that("status.lifecycle", seen[-1] == "COMPLETED", expected="COMPLETED at the end", observed=seen)


@pytest.mark.portable
@verifies("status.timing")
def test_a_finished_job_reports_queue_delay_and_processing_time(
    jobs: Jobs, workload: Workload, record: Recording
) -> None:
    final = jobs.wait_final(jobs.submit(workload.completing("timed", sleep_s=1)))
    record(delayTime=final.get("delayTime"), executionTime=final.get("executionTime"))
    for field in ("delayTime", "executionTime"):
        value = final.get(field)
        checks.that(
            "status.timing",
            isinstance(value, int) and value >= 0,
            expected=f"{field}: a whole number of ms",
            observed=value,
        )
    if not workload.contract:
        return  # how long a job must take is known only for the contract's {"sleep": 1}
    checks.that(
        "status.timing",
        final["executionTime"] >= 900,
        expected="executionTime >= 900 ms for a 1 s job",
        observed=final["executionTime"],
        severity=Severity.MAJOR,
    )


@pytest.mark.portable
@verifies("status.output")
def test_a_completed_job_carries_its_output(jobs: Jobs, workload: Workload) -> None:
    output = {"text": ["Hello"], "tokens": 2, "nested": {"ok": True}}
    final = jobs.wait_final(jobs.submit(workload.completing(output)))
    done, expected = workload.output_check(output, final)
    checks.that("status.output", done, expected=expected, observed=final)


@pytest.mark.portable
@pytest.mark.budget(jobs=6, requests=30)
@verifies("status.schema")
def test_the_job_object_matches_its_schema_in_every_state(
    api: ApiClient, jobs: Jobs, workload: Workload, record: Recording
) -> None:
    """Every state the suite can bring a job to: all five with the contract; with a foreign worker
    IN_QUEUE, CANCELLED and COMPLETED from the sample input, IN_PROGRESS with --slow-input, FAILED
    with --fail-input."""
    bodies: dict[str, dict[str, Any]] = {}
    if workload.can_block():
        blockers = jobs.fill_workers(60)
        bodies["IN_PROGRESS"] = jobs.status(blockers[0]).body
    workload.need("sample", "the job object's schema")
    queued = jobs.queued_job(workload.completing("queued"))
    bodies["IN_QUEUE"] = jobs.status(queued).body
    api.cancel(queued)
    bodies["CANCELLED"] = jobs.status(queued).body
    jobs.cleanup()
    bodies["COMPLETED"] = jobs.wait_final(jobs.submit(workload.completing("ok")))
    if workload.contract or workload.inputs.has("fail"):
        bodies["FAILED"] = jobs.wait_final(jobs.submit(workload.failing("schema check")))
    record(states={state: (body or {}).get("status") for state, body in bodies.items()})
    for state, body in bodies.items():
        checks.matches_schema("status.schema", "job", body)
        checks.that("status.schema", body.get("status") == state, expected=state, observed=body.get("status"))
    if "FAILED" not in bodies:
        return
    failed_error = bodies["FAILED"].get("error")
    checks.that(
        "status.schema",
        failed_error == "schema check"
        if workload.contract
        else isinstance(failed_error, str) and bool(failed_error),
        expected="error 'schema check'" if workload.contract else "the worker's error (a string)",
        observed=failed_error,
    )


@pytest.mark.portable
@verifies("status.post_method")
def test_status_answers_post_like_get(api: ApiClient, jobs: Jobs, workload: Workload) -> None:
    job_id = jobs.submit(workload.completing("post"))
    jobs.wait_final(job_id)
    by_get, by_post = api.status(job_id), api.status(job_id, method="POST")
    checks.status_is("status.post_method", by_post, 200, severity=Severity.MAJOR)
    checks.that(
        "status.post_method",
        by_post.body == by_get.body,
        expected=by_get.body,
        observed=by_post.body,
        severity=Severity.MAJOR,
    )

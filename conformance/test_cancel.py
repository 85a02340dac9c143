"""POST /cancel: removes queued jobs, stops running ones, answers CANCELLED at once."""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.client import ApiClient
from conformance.jobs import Jobs
from conformance.plugin import verifies
from conformance.timekeeper import Timekeeper
from conformance.violations import Recording
from conformance.workload import Workload

pytestmark = pytest.mark.budget(jobs=4, requests=20)


@pytest.mark.portable
@verifies("cancel.queued")
def test_cancel_removes_a_queued_job_before_it_starts(
    api: ApiClient, jobs: Jobs, clock: Timekeeper, workload: Workload, record: Recording
) -> None:
    queued = jobs.queued_job(workload.completing("never runs"))
    before = "IN_QUEUE"
    reply = api.cancel(queued)
    checks.status_is("cancel.queued", reply, 200)
    body = checks.json_reply("cancel.queued", reply)
    checks.that(
        "cancel.queued",
        body.get("status") == "CANCELLED",
        expected="status CANCELLED in the reply",
        observed=body,
    )
    jobs.cleanup()
    clock.pass_time(2)
    after = jobs.status(queued).body
    record(status_before=before, states=jobs.seen[queued])
    checks.that(
        "cancel.queued",
        after.get("status") == "CANCELLED" and "IN_PROGRESS" not in jobs.seen[queued],
        expected="CANCELLED and never started",
        observed=jobs.seen[queued],
    )


@pytest.mark.portable
@verifies("cancel.in_progress")
def test_cancel_stops_a_running_job(
    api: ApiClient, jobs: Jobs, clock: Timekeeper, workload: Workload, record: Recording
) -> None:
    job_id = jobs.submit(workload.slow(3, "should not finish"), blocker=True)
    jobs.wait_for(job_id, {"IN_PROGRESS"})
    reply = api.cancel(job_id)
    checks.status_is("cancel.in_progress", reply, 200)
    checks.that(
        "cancel.in_progress",
        checks.json_reply("cancel.in_progress", reply).get("status") == "CANCELLED",
        expected="status CANCELLED",
        observed=reply.body,
    )
    clock.pass_time(4 if workload.contract else 4 + jobs.profile.slack_s)
    after = jobs.status(job_id).body
    record(reply=reply.body, after=after)
    checks.that(
        "cancel.in_progress",
        after.get("status") == "CANCELLED" and "output" not in after,
        expected="still CANCELLED with no output after the job's run time",
        observed=after,
    )


@pytest.mark.portable
@verifies("cancel.schema")
def test_cancel_reply_matches_the_documented_shape(api: ApiClient, jobs: Jobs, workload: Workload) -> None:
    queued = jobs.queued_job(workload.completing("x"))
    reply = api.cancel(queued)
    body = checks.json_reply("cancel.schema", reply)
    checks.matches_schema("cancel.schema", "cancel", body)
    checks.that("cancel.schema", body.get("id") == queued, expected=queued, observed=body.get("id"))


@pytest.mark.portable
@verifies("cancel.final_reply")
def test_cancel_of_a_finished_job_is_recorded(
    api: ApiClient, jobs: Jobs, workload: Workload, record: Recording
) -> None:
    job_id = jobs.submit(workload.completing("finished"))
    jobs.wait_final(job_id)
    reply = api.cancel(job_id)
    after = jobs.status(job_id)
    record(
        http_status=reply.status,
        body=reply.body or reply.text[:300],
        status_after=(after.body or {}).get("status"),
    )

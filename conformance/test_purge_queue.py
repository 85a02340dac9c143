"""POST /purge-queue: queued jobs only; running jobs go on."""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.client import ApiClient
from conformance.jobs import Jobs
from conformance.plugin import verifies
from conformance.violations import Recording
from conformance.workload import Workload

pytestmark = [pytest.mark.destructive, pytest.mark.budget(jobs=6, requests=30)]


@pytest.mark.portable
@verifies("purge.queued_only")
def test_purge_removes_queued_jobs_and_lets_running_ones_finish(
    api: ApiClient, jobs: Jobs, workload: Workload, record: Recording
) -> None:
    """Every running worker busy (as many as /health shows), two jobs queued behind them, purge.
    With a foreign worker and no --slow-input the queue is made of quick sample jobs: the ones
    queued at the purge must never run, and nothing may still wait in the queue after it."""
    running = jobs.fill_workers(3, workload.slow(3, "survives")) if workload.can_block() else []
    queued = [jobs.queued_job(workload.completing("purged")) for _ in range(2 if running else 1)]
    reply = api.purge_queue()
    checks.status_is("purge.queued_only", reply, 200)
    body = checks.json_reply("purge.queued_only", reply)
    finals = [jobs.wait_final(job_id) for job_id in running]
    if not running:
        jobs.clock.pass_time(2)  # a quick job left in the queue would have run by now
    queued_after = [jobs.status(job_id) for job_id in queued]
    record(
        removed=body.get("removed"),
        running_final=[f.get("status") for f in finals],
        queued_after=[[r.status, (r.body or {}).get("status")] for r in queued_after],
    )
    checks.that(
        "purge.queued_only",
        isinstance(body.get("removed"), int) and body["removed"] >= len(queued),
        expected=f"removed >= {len(queued)}",
        observed=body,
    )
    checks.that(
        "purge.queued_only",
        all(workload.output_check("survives", f)[0] for f in finals),
        expected="the running jobs complete",
        observed=finals,
    )
    checks.that(
        "purge.queued_only",
        not any((r.body or {}).get("status") in ("IN_PROGRESS", "COMPLETED") for r in queued_after),
        expected="purged jobs never run",
        observed=[r.body for r in queued_after],
    )


@pytest.mark.portable
@verifies("purge.schema")
def test_purge_reply_matches_the_documented_shape(api: ApiClient) -> None:
    checks.matches_schema("purge.schema", "purge", checks.json_reply("purge.schema", api.purge_queue()))


@pytest.mark.portable
@verifies("purge.purged_job_reply")
def test_what_a_purged_job_reports_is_recorded(
    api: ApiClient, jobs: Jobs, workload: Workload, record: Recording
) -> None:
    queued = jobs.queued_job(workload.completing("purged"))
    api.purge_queue()
    reply = jobs.status(queued)
    record(http_status=reply.status, body=reply.body or reply.text[:300])

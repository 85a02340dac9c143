"""POST /purge-queue: queued jobs only; running jobs go on."""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.client import ApiClient, Reply
from conformance.jobs import Jobs
from conformance.plugin import verifies
from conformance.violations import Recording
from conformance.workload import Workload

pytestmark = [pytest.mark.destructive, pytest.mark.budget(jobs=6, requests=30)]


@pytest.fixture(scope="session")
def answered() -> list[Reply]:
    """This run's purge replies that were JSON with HTTP 200: the shape test judges the latest rather
    than spend one more purge (the documented limit is 2 per 10 s; a third would wait out a 429)."""
    return []


def _purge(api: ApiClient, answered: list[Reply]) -> Reply:
    reply = api.purge_queue()
    if reply.status == 200 and reply.is_json:
        answered.append(reply)
    return reply


@pytest.mark.portable
@verifies("purge.queued_only")
def test_purge_removes_queued_jobs_and_lets_running_ones_finish(
    api: ApiClient, jobs: Jobs, workload: Workload, record: Recording, answered: list[Reply]
) -> None:
    """Every running worker busy (as many as /health shows), two jobs queued behind them, purge."""
    if not workload.can_block():
        _purge_a_burst(api, jobs, workload, record, answered)
        return
    running = jobs.fill_workers(3, workload.slow(3, "survives"))
    queued = [jobs.queued_job(workload.completing("purged")) for _ in range(2)]
    reply = _purge(api, answered)
    checks.status_is("purge.queued_only", reply, 200)
    body = checks.json_reply("purge.queued_only", reply)
    finals = [jobs.wait_final(job_id) for job_id in running]
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


RAN = ("IN_PROGRESS", "COMPLETED", "FAILED")
BURST = 32


def _purge_a_burst(
    api: ApiClient, jobs: Jobs, workload: Workload, record: Recording, answered: list[Reply]
) -> None:
    """A foreign worker without --slow-input: quick sample jobs submitted back to back, then a
    purge at once. Which of them were still queued at that moment is unknowable, so the checks are
    the ones that hold whatever the workers took: none of them still queued after the purge, the
    ones that had not run never run, and every one of those counted in `removed`."""
    burst = jobs.burst(workload.completing("purged"), BURST)
    reply = _purge(api, answered)
    checks.status_is("purge.queued_only", reply, 200)
    body = checks.json_reply("purge.queued_only", reply)
    right_after = {job_id: jobs.state(job_id) for job_id in burst}
    purged = [job_id for job_id, state in right_after.items() if state not in (*RAN, "IN_QUEUE")]
    jobs.clock.pass_time(2)  # a job left in the queue would have run by now
    later = {job_id: jobs.state(job_id) for job_id in purged}
    record(removed=body.get("removed"), states_after_purge=sorted(map(str, right_after.values())))
    still_queued = [job_id for job_id, state in right_after.items() if state == "IN_QUEUE"]
    checks.that(
        "purge.queued_only",
        not still_queued,
        expected="no job still IN_QUEUE after the purge",
        observed=f"{len(still_queued)} of {BURST} still queued",
    )
    checks.that(
        "purge.queued_only",
        not any(state in RAN for state in later.values()),
        expected="purged jobs never run",
        observed=later,
    )
    removed = body.get("removed")
    checks.that(
        "purge.queued_only",
        isinstance(removed, int) and removed >= len(purged),
        expected=f"removed >= {len(purged)} (the jobs of the burst that never ran)",
        observed=body,
    )
    if not purged:
        pytest.skip(
            f"foreign worker: every one of {BURST} quick jobs had started before the purge; "
            "pass --slow-input FILE so that jobs stay queued"
        )


@pytest.mark.portable
@verifies("purge.schema")
def test_purge_reply_matches_the_documented_shape(api: ApiClient, answered: list[Reply]) -> None:
    reply = answered[-1] if answered else _purge(api, answered)
    checks.matches_schema("purge.schema", "purge", checks.json_reply("purge.schema", reply))


@pytest.mark.portable
@verifies("purge.purged_job_reply")
def test_what_a_purged_job_reports_is_recorded(
    api: ApiClient, jobs: Jobs, workload: Workload, record: Recording, answered: list[Reply]
) -> None:
    queued = jobs.queued_job(workload.completing("purged"))
    _purge(api, answered)
    reply = jobs.status(queued)
    record(http_status=reply.status, body=reply.body or reply.text[:300])

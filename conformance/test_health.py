"""GET /health: five job counters, six worker counters, consistent with the jobs we made."""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.client import ApiClient
from conformance.jobs import Jobs
from conformance.plugin import verifies
from conformance.profile import Profile
from conformance.violations import Recording
from conformance.workload import Workload
from contract import health

COUNTERS = health.JOB_FIELDS


@pytest.mark.portable
@verifies("health.schema")
def test_health_has_the_job_and_worker_counters(api: ApiClient, record: Recording) -> None:
    body = checks.json_reply("health.schema", api.health())
    record(body=body)
    checks.matches_schema("health.schema", "health", body)


def _jobs(api: ApiClient) -> dict[str, int]:
    body = checks.json_reply("health.counts", api.health())
    checks.matches_schema("health.counts", "health", body)
    counters: dict[str, int] = body["jobs"]
    return counters


@pytest.mark.portable
@pytest.mark.budget(jobs=7, requests=40)
@verifies("health.counts")
def test_health_counts_the_jobs_the_suite_made(
    api: ApiClient, jobs: Jobs, profile: Profile, workload: Workload, record: Recording
) -> None:
    """Deltas of the suite's own jobs: completed, and with a failing input failed and retried;
    then, with every running worker busy and one job queued, the in-progress and queued counts."""
    workload.need("sample", "the job counters")
    failing = workload.contract or workload.inputs.has("fail")
    before = _jobs(api)
    made = [jobs.submit(workload.completing(n)) for n in range(2)]
    if failing:
        made.append(jobs.submit(workload.failing("counted")))
    for job_id in made:
        jobs.wait_final(job_id)
    if failing:
        retried = jobs.submit(workload.failing("retried"))
        jobs.wait_final(retried)
        api.retry(retried)
        jobs.wait_final(retried)
    settled = _jobs(api)
    running = jobs.fill_workers(30) if workload.can_block() else []
    queued = jobs.queued_job(workload.completing("waiting"))
    busy = _jobs(api)
    # queued before and after /health was read: it was queued while /health counted
    judged = jobs.state(queued) == "IN_QUEUE"
    delta = {k: settled[k] - before[k] for k in COUNTERS}
    record(
        before=before, settled=settled, busy=busy, delta=delta, running_jobs=len(running), queued_seen=judged
    )
    least = {"completed": 2, "failed": 3, "retried": 1} if failing else {"completed": 2}
    checks.that(
        "health.counts",
        all(delta[k] >= n for k, n in least.items()),
        expected=", ".join(f"{k} +{n}" for k, n in least.items()) + " (at least)",
        observed=delta,
    )
    checks.that(
        "health.counts",
        busy["inProgress"] >= len(running) and (busy["inQueue"] >= 1 or not judged),
        expected=f"inProgress >= {len(running)} and inQueue >= 1 with every worker busy",
        observed=busy,
    )

"""GET /health: five job counters, six worker counters, consistent with the jobs we made."""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.client import ApiClient
from conformance.jobs import Jobs
from conformance.plugin import verifies
from conformance.profile import Profile
from conformance.violations import Recording
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
    api: ApiClient, jobs: Jobs, profile: Profile, record: Recording
) -> None:
    before = _jobs(api)
    for job_id in [jobs.submit({"output": n}) for n in range(2)] + [jobs.submit({"fail": "counted"})]:
        jobs.wait_final(job_id)
    retried = jobs.submit({"fail": "retried"})
    jobs.wait_final(retried)
    api.retry(retried)
    jobs.wait_final(retried)
    settled = _jobs(api)
    jobs.fill_workers(30)
    jobs.submit({"output": "waiting"}, blocker=True)
    busy = _jobs(api)
    delta = {k: settled[k] - before[k] for k in COUNTERS}
    record(before=before, settled=settled, busy=busy, delta=delta)
    checks.that(
        "health.counts",
        delta["completed"] >= 2 and delta["failed"] >= 3 and delta["retried"] >= 1,
        expected="completed +2, failed +3, retried +1 (at least)",
        observed=delta,
    )
    checks.that(
        "health.counts",
        busy["inProgress"] >= profile.workers_max and busy["inQueue"] >= 1,
        expected=f"inProgress >= {profile.workers_max} and inQueue >= 1 with every worker busy",
        observed=busy,
    )

"""POST /run: accepted at once, processed in the background."""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.client import ApiClient
from conformance.jobs import Jobs
from conformance.plugin import verifies
from conformance.violations import Recording, Severity
from conformance.workload import Workload


@pytest.mark.portable
@verifies("run.accepted")
def test_run_answers_a_job_id_and_processes_the_job(api: ApiClient, jobs: Jobs, workload: Workload) -> None:
    reply = api.run(workload.completing("background"))
    checks.status_is("run.accepted", reply, 200)
    body = checks.json_reply("run.accepted", reply)
    job_id = body.get("id")
    checks.that("run.accepted", isinstance(job_id, str) and bool(job_id), expected="a job id", observed=body)
    final = jobs.wait_final(str(job_id))
    done, expected = workload.output_check("background", final)
    checks.that("run.accepted", done, expected=expected, observed=final)


@pytest.mark.portable
@verifies("run.schema")
def test_run_reply_matches_the_documented_shape(
    api: ApiClient, jobs: Jobs, workload: Workload, record: Recording
) -> None:
    reply = api.run(workload.completing(1))
    checks.status_is("run.schema", reply, 200)
    body = checks.json_reply("run.schema", reply)
    record(status=body.get("status"), keys=sorted(body))
    checks.matches_schema("run.schema", "run", body)
    checks.that(
        "run.schema",
        body.get("status") == "IN_QUEUE",
        expected="status IN_QUEUE",
        observed=body.get("status"),
        severity=Severity.MINOR,
    )

"""Retention, TTL, ?ttl=, executionTimeout, lost workers and the store cap, on a ManualClock."""

from __future__ import annotations

import pytest
from emu_support import settle

from emulator.app_keys import EMULATOR
from emulator.models import TRANSITIONS, IllegalTransition, Job, JobStatus


async def test_run_results_kept_30_minutes_after_completion(make_api):
    api = await make_api()
    job_id = await api.run({"sleep": 60})
    await api.advance(60)
    assert (await api.status(job_id))["status"] == "COMPLETED"
    await api.advance(30 * 60 - 1)
    assert (await api.status(job_id))["status"] == "COMPLETED"
    await api.advance(1)
    body = await api.status(job_id, expect=404)
    assert "not found" in body["error"]


async def test_runsync_results_kept_60_seconds(make_api):
    api = await make_api()
    body = await api.call("POST", "runsync", json={"input": {"output": 1}})
    await api.advance(59)
    await api.status(body["id"])
    await api.advance(1)
    await api.status(body["id"], expect=404)


async def test_expired_jobs_are_swept_without_being_read(make_api):
    api = await make_api(retention_run_s=10)
    for _ in range(5):
        await api.run({"output": 1})
    await settle()
    await api.advance(11, steps=11)
    stats = await api.control("GET", "endpoints/ep/stats")
    assert stats["stored_jobs"] == 0 and stats["expired"] == 5


async def test_retention_is_configurable_per_endpoint(make_api):
    api = await make_api(retention_run_s=5)
    job_id = await api.run({})
    await api.advance(5)
    await api.status(job_id, expect=404)


async def test_policy_ttl_deletes_a_queued_job(make_api):
    api = await make_api(workers_max=1)
    await api.run({"sleep": 100})
    job_id = await api.run({}, policy={"ttl": 10_000})
    await api.advance(9.9)
    assert (await api.status(job_id))["status"] == "IN_QUEUE"
    await api.advance(0.1)
    await api.status(job_id, expect=404)
    assert (await api.call("GET", "health"))["jobs"]["inQueue"] == 0


async def test_policy_ttl_deletes_a_job_mid_run(make_api):
    api = await make_api()
    job_id = await api.run({"sleep": 30}, policy={"ttl": 10_000})
    await api.advance(5)
    assert (await api.status(job_id))["status"] == "IN_PROGRESS"
    await api.advance(5)
    await api.status(job_id, expect=404)
    await api.advance(20)  # the worker finishes into the void and is free again
    health = await api.call("GET", "health")
    assert health["jobs"]["inProgress"] == 0 and health["workers"]["idle"] == 1


async def test_default_ttl_is_24_hours(make_api):
    api = await make_api(workers_max=1, execution_timeout_s=200_000)
    await api.run({"sleep": 100_000})
    job_id = await api.run({})
    await api.advance(86_399)
    assert (await api.status(job_id))["status"] == "IN_QUEUE"
    await api.advance(1)
    await api.status(job_id, expect=404)


async def test_status_ttl_query_removes_the_result_sooner(make_api):
    api = await make_api()
    job_id = await api.run({})
    await settle()
    await api.call("GET", f"status/{job_id}?ttl=6000")
    await api.advance(5.9)
    await api.status(job_id)
    await api.advance(0.1)
    await api.status(job_id, expect=404)


async def test_execution_timeout_fails_the_job(make_api):
    api = await make_api()
    job_id = await api.run({"sleep": 60}, policy={"executionTimeout": 5000})
    await api.advance(5)
    body = await api.status(job_id)
    assert body["status"] == "FAILED" and body["error"] == "executionTimeout exceeded"
    assert body["executionTime"] == 5000


async def test_an_integral_json_number_is_an_integer_of_milliseconds(make_api):
    """JSON Schema's `integer` takes 5000.0 as well as 5000; the policy then applies as given."""
    api = await make_api()
    job_id = await api.run({"sleep": 60}, policy={"executionTimeout": 5000.0, "ttl": 713004.0})
    await api.advance(5)
    body = await api.status(job_id)
    assert body["status"] == "FAILED" and body["error"] == "executionTimeout exceeded"
    await api.advance(713.004 - 5 - 0.01)
    await api.status(job_id)
    await api.advance(0.02)
    await api.status(job_id, expect=404)


async def test_endpoint_execution_timeout_applies_without_policy(make_api):
    api = await make_api(execution_timeout_s=7)
    job_id = await api.run({"sleep": 60})
    await api.advance(7)
    assert (await api.status(job_id))["error"] == "executionTimeout exceeded"


async def test_crashed_worker_gives_timed_out_and_the_job_can_be_retried(make_api):
    api = await make_api(worker_timeout_s=20)
    await api.control("PUT", "endpoints/ep/faults", json={"worker_crash_rate": 1.0})
    job_id = await api.run({"sleep": 1})
    await api.advance(1)
    assert (await api.status(job_id))["status"] == "IN_PROGRESS"
    assert (await api.call("GET", "health"))["workers"]["unhealthy"] == 1
    await api.advance(19)
    body = await api.status(job_id)
    assert body["status"] == "TIMED_OUT"
    await api.control("PUT", "endpoints/ep/faults", json={})
    await api.call("POST", f"retry/{job_id}")
    await api.advance(1, steps=2)
    assert (await api.status(job_id))["status"] == "COMPLETED"


async def test_store_cap_evicts_oldest_finished_results(make_api):
    api = await make_api(max_jobs=3)
    ids = [await api.run({"n": i}) for i in range(3)]
    await settle()
    newest = await api.run({"n": 3})
    await api.status(ids[0], expect=404)
    await api.status(newest)
    stats = await api.control("GET", "endpoints/ep/stats")
    assert stats["stored_jobs"] == 3
    assert stats["evicted"] == 1 and stats["expired"] == 0  # an audit can account for the missing job


async def test_store_cap_with_only_live_jobs_refuses_with_429(make_api):
    api = await make_api(max_jobs=2, workers_max=1)
    await api.run({"sleep": 100})
    await api.run({"sleep": 100})
    body = await api.call("POST", "run", json={"input": {}}, expect=429)
    assert "max_jobs" in body["error"]


async def test_expiry_lanes_stay_bounded_under_churn(make_api):
    api = await make_api(max_jobs=50)
    jobs = api.client.app[EMULATOR].endpoint("ep").jobs
    for _ in range(20):
        for _ in range(50):
            jobs.submit({}, source="run")
        await settle(3)
    assert len(jobs.jobs) <= 50
    assert len(jobs.deadlines) <= 3 * 50 + 4  # lanes drop stale heads as they grow
    assert len(jobs.finished_order) <= 50 + 2


def test_transition_table_is_the_only_way_to_move():
    job = Job(
        "j",
        "ep",
        {},
        source="run",
        created=0,
        webhook=None,
        execution_timeout_s=600,
        ttl_s=10,
        low_priority=False,
    )
    with pytest.raises(IllegalTransition):
        job.move_to(JobStatus.COMPLETED)
    job.move_to(JobStatus.IN_PROGRESS)
    job.move_to(JobStatus.COMPLETED)
    for target in JobStatus:
        with pytest.raises(IllegalTransition):
            job.move_to(target)
    assert TRANSITIONS[JobStatus.FAILED] == {JobStatus.IN_QUEUE} == TRANSITIONS[JobStatus.TIMED_OUT]
    assert [s.value for s in JobStatus] == [
        "IN_QUEUE",
        "IN_PROGRESS",
        "COMPLETED",
        "FAILED",
        "CANCELLED",
        "TIMED_OUT",
    ]


def test_status_bytes_equal_the_json_of_the_status_object():
    import json

    job = Job(
        "j-u1",
        "ep",
        {},
        source="run",
        created=0,
        webhook=None,
        execution_timeout_s=600,
        ttl_s=10,
        low_priority=False,
    )
    assert json.loads(job.status_bytes()) == job.to_status() == {"id": "j-u1", "status": "IN_QUEUE"}
    job.move_to(JobStatus.IN_PROGRESS)
    job.delay_ms, job.worker_id = 12, "w1"
    assert json.loads(job.status_bytes()) == job.to_status()
    job.move_to(JobStatus.FAILED)
    job.execution_ms, job.error, job.retries = 5, 'bad "quote" \\ é', 2
    job.set_output({"partial": [1, "ü"]})
    decoded = json.loads(job.status_bytes())
    assert (
        decoded == job.to_status()
        and decoded["error"] == 'bad "quote" \\ é'
        and decoded["output"] == {"partial": [1, "ü"]}
    )


async def test_output_that_is_not_json_fails_the_job(make_api):
    api = await make_api()
    jobs = api.emulator.endpoint("ep").jobs
    job = jobs.submit({"sleep": 1}, source="run")
    await settle()
    jobs.finish(job, JobStatus.COMPLETED, output={1, 2})  # a set: what a user handler might return
    body = await api.status(job.id)
    assert body["status"] == "FAILED" and "not JSON" in body["error"]

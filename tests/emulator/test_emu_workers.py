"""The simulated pool: cold starts, idle timeout, scalers, lowPriority, jobs per worker, distributions."""

from __future__ import annotations

import asyncio

import pytest
from emu_support import settle

from emulator.app_keys import EMULATOR


async def workers(api):
    return (await api.call("GET", "health"))["workers"]


async def test_cold_start_from_zero_workers_shows_initializing_then_runs(make_api):
    api = await make_api(workers_min=0, cold_start_s=3)
    assert (await workers(api))["idle"] == 0
    job_id = await api.run({"sleep": 1})
    await settle()
    assert (await workers(api))["initializing"] == 1
    await api.advance(3)
    body = await api.status(job_id)
    assert body["status"] == "IN_PROGRESS" and body["delayTime"] == 3000
    assert (await workers(api))["running"] == 1


async def test_idle_workers_above_min_leave_after_idle_timeout(make_api):
    api = await make_api(workers_min=0, idle_timeout_s=5)
    await api.run({"sleep": 1})
    await api.advance(1)
    assert (await workers(api))["idle"] == 1
    await api.advance(4.9)
    assert (await workers(api))["idle"] == 1
    await api.advance(0.1)
    assert sum((await workers(api)).values()) == 0


async def test_min_workers_stay_and_max_caps_the_pool(make_api):
    api = await make_api(workers_min=1, workers_max=2, scaler="request_count", scaler_value=1)
    for _ in range(5):
        await api.run({"sleep": 10})
    await settle()
    health = await api.call("GET", "health")
    assert health["workers"]["running"] == 2 and health["jobs"]["inQueue"] == 3
    await api.advance(100, steps=20)
    w = await workers(api)
    assert w["idle"] == 1 and w["running"] == 0


async def test_queue_delay_scaler_adds_a_worker_after_the_delay(make_api):
    api = await make_api(workers_min=1, workers_max=3, scaler="queue_delay", scaler_value=4)
    await api.run({"sleep": 100})
    await api.run({"sleep": 100})
    await settle()
    assert sum((await workers(api)).values()) - (await workers(api))["ready"] == 1
    await api.advance(3.9)
    assert (await workers(api))["running"] == 1
    await api.advance(0.1)
    assert (await workers(api))["running"] == 2


async def test_request_count_scaler_sizes_the_pool(make_api):
    api = await make_api(workers_min=0, workers_max=10, scaler="request_count", scaler_value=2)
    for _ in range(6):
        await api.run({"sleep": 10})
    await settle()
    assert (await workers(api))["running"] == 3


async def test_low_priority_jobs_never_scale_up(make_api):
    api = await make_api(workers_min=0, workers_max=3)
    job_id = await api.run({}, policy={"lowPriority": True})
    await api.advance(60, steps=6)
    assert (await api.status(job_id))["status"] == "IN_QUEUE"
    assert sum((await workers(api)).values()) == 0
    await api.run({})  # a normal job starts a worker, which then takes the low-priority one too
    await api.advance(1)
    assert (await api.status(job_id))["status"] == "COMPLETED"


async def test_jobs_per_worker_runs_several_at_once(make_api):
    api = await make_api(workers_min=1, workers_max=1, jobs_per_worker=3)
    for _ in range(4):
        await api.run({"sleep": 5})
    await settle()
    health = await api.call("GET", "health")
    assert health["jobs"]["inProgress"] == 3 and health["workers"]["running"] == 1


async def test_cancel_of_a_running_job_restarts_its_worker(make_api):
    api = await make_api(workers_min=1, workers_max=1, cold_start_s=2)
    job_id = await api.run({"sleep": 10})
    await settle()
    await api.call("POST", f"cancel/{job_id}")
    assert (await workers(api))["initializing"] == 1
    await api.advance(2)
    assert (await workers(api))["idle"] == 1


@pytest.mark.parametrize(
    ("distribution", "mean", "spread"),
    [("fixed", 2.0, 0.0), ("uniform", 2.0, 1.0), ("exponential", 2.0, 0.0), ("lognormal", 2.0, 0.5)],
)
async def test_execution_time_distribution_for_inputs_without_sleep(make_api, distribution, mean, spread):
    api = await make_api(
        workers_max=1,
        execution_time={"distribution": distribution, "mean_s": mean, "spread_s": spread},
        execution_timeout_s=1000,
        retention_run_s=10_000,
    )
    jobs = api.client.app[EMULATOR].endpoint("ep").jobs
    ids = [jobs.submit({"i": i}, source="run").id for i in range(200)]
    await api.advance(2000, steps=400)
    times = [jobs.jobs[i].execution_ms / 1000 for i in ids]
    average = sum(times) / len(times)
    assert mean * 0.75 < average < mean * 1.25
    if distribution == "fixed":
        assert set(times) == {2.0}
    if distribution == "uniform":
        assert min(times) >= 1.0 and max(times) <= 3.0


async def test_explicit_sleep_wins_over_the_distribution(make_api):
    api = await make_api(execution_time={"distribution": "fixed", "mean_s": 9.0})
    body = await api.call("POST", "runsync", json={"input": {"sleep": 0}})
    assert body["status"] == "COMPLETED" and body["executionTime"] == 0


async def test_user_handler_runs_behind_the_queue(make_api):
    api = await make_api(handler="worker.contract:handler")
    job_id = await api.run({"output": {"a": 1}})
    for _ in range(200):  # a user's handler runs in real time (a thread here)
        await settle()
        body = await api.status(job_id)
        if body["status"] == "COMPLETED":
            break
        await asyncio.sleep(0.005)
    assert body["status"] == "COMPLETED" and body["output"] == {"a": 1}


async def test_unknown_user_handler_is_a_config_error(make_api):
    from emulator.config import ConfigError

    with pytest.raises(ConfigError, match="cannot be imported"):
        await make_api(handler="no_such_module_xyz:handler")


async def test_10k_instant_jobs_need_no_timers(make_api):
    api = await make_api(workers_max=3)
    jobs = api.client.app[EMULATOR].endpoint("ep").jobs
    for _ in range(10_000):
        jobs.submit({}, source="run")
    await settle(3)
    assert jobs.stats.completed == 10_000
    assert api.clock.pending_timers <= 2  # the expiry sweep (and nothing per job)


async def test_queue_delay_scaler_sets_no_timers_while_a_worker_initializes(make_api):
    api = await make_api(workers_min=1, workers_max=3, cold_start_s=10, scaler_value=1)
    await api.run({"sleep": 100})
    await api.run({"sleep": 100})
    await api.advance(1)
    assert (await workers(api))["initializing"] == 1
    await api.run({"sleep": 100})  # a pump while the new worker initializes
    pool = api.emulator.endpoint("ep").pool
    calls = []
    original = pool._rescale

    def counting() -> None:
        calls.append(1)
        original()

    pool._rescale = counting
    await api.advance(5, steps=5)
    assert len(calls) <= 2  # the readiness of the initializing worker pumps; no 1 ms re-check loop

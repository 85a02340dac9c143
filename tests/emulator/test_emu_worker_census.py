"""The pool's running count of workers per state always equals a recount of its workers.

`/health` and the dynamic rate limit (asked on every admitted request) read `Pool.census` instead
of walking the workers, so every place a worker's state changes (start, end, cold start, ready,
idle timeout, crash, cancel and restart, scale-down, PATCH, reset) must keep it true. A hypothesis
state machine drives a pool on a ManualClock through random sequences of all of them and recounts
after every step.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from emulator.clock import ManualClock
from emulator.config import EndpointConfig, endpoint_from_table
from emulator.faults import FaultDice, Faults
from emulator.models import Job, JobStatus
from emulator.store import EndpointJobs
from emulator.workers import WORKER_STATES, Pool, SimWorker, new_census

BASE = {
    "id": "ep",
    "api_keys": ["k"],
    "workers_min": 1,
    "workers_max": 3,
    "cold_start_s": 2.0,
    "idle_timeout_s": 5.0,
    "worker_timeout_s": 7.0,
    "scaler": "request_count",
    "scaler_value": 1.0,
}


def recount(pool: Pool) -> dict[str, int]:
    counted = Counter(worker.state for worker in pool.workers)
    return {state: counted[state] for state in WORKER_STATES}


class PoolMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.config: EndpointConfig = endpoint_from_table(BASE)
        self.jobs = EndpointJobs(
            self.config,
            self.clock,
            on_final=lambda job: None,
            dispatch=lambda: self.pool.pump_soon(),
            stop_running=lambda job: self.pool.stop(job),
        )
        self.dice = FaultDice(7, "ep")
        self.pool = Pool(self.jobs, self.clock, self.dice, 7)

    def _live(self, status: JobStatus) -> list[Job]:
        return [job for job in self.jobs.jobs.values() if job.status is status]

    @rule(
        job_input=st.sampled_from(
            [
                {"sleep": 0},
                {"sleep": 0.5},
                {"sleep": 3},
                {"sleep": 20},
                {"fail": "x"},
                {"stream": [1, 2], "sleep": 1},
            ]
        ),
        low_priority=st.booleans(),
        timeout_s=st.sampled_from([None, 5.0]),
    )
    def submit(self, job_input: dict[str, Any], low_priority: bool, timeout_s: float | None) -> None:
        self.jobs.submit(job_input, source="run", low_priority=low_priority, execution_timeout_s=timeout_s)

    @rule(seconds=st.sampled_from([0.1, 0.5, 1.0, 2.0, 5.0, 8.0, 31.0]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule(which=st.integers(0, 50), running=st.booleans())
    def cancel(self, which: int, running: bool) -> None:
        jobs = self._live(JobStatus.IN_PROGRESS if running else JobStatus.IN_QUEUE)
        if jobs:
            self.jobs.cancel(jobs[which % len(jobs)])

    @rule(which=st.integers(0, 50))
    def retry(self, which: int) -> None:
        jobs = self._live(JobStatus.FAILED) + self._live(JobStatus.TIMED_OUT)
        if jobs:
            self.jobs.retry(jobs[which % len(jobs)])

    @rule(rate=st.sampled_from([0.0, 0.3, 1.0]))
    def crash_rate(self, rate: float) -> None:
        self.dice.faults = Faults(worker_crash_rate=rate)

    @rule(
        workers_min=st.integers(0, 2),
        extra=st.integers(0, 2),
        jobs_per_worker=st.integers(1, 2),
        cold_start_s=st.sampled_from([0.0, 2.0]),
        scaler=st.sampled_from(["request_count", "queue_delay"]),
    )
    def patch(
        self, workers_min: int, extra: int, jobs_per_worker: int, cold_start_s: float, scaler: str
    ) -> None:
        table = {
            "workers_min": workers_min,
            "workers_max": workers_min + extra,
            "jobs_per_worker": jobs_per_worker,
            "cold_start_s": cold_start_s,
            "scaler": scaler,
        }
        self.config = endpoint_from_table(table, base=self.config)
        self.jobs.config = self.config  # as the control API's PATCH does (runtime.Emulator._apply)
        self.pool.reconfigure()

    @rule()
    def purge(self) -> None:
        self.jobs.purge()

    @rule()
    def reset(self) -> None:
        self.pool.clear()  # as POST /_emulator/reset does (runtime.Emulator.reset)
        self.jobs.clear()

    @invariant()
    def census_equals_a_recount(self) -> None:
        assert self.pool.census == recount(self.pool)
        assert self.pool.running_workers() == recount(self.pool)["running"]
        health = self.pool.health()
        assert health["ready"] == health["idle"] and health["throttled"] == 0
        assert sum(health.values()) - health["ready"] == len(self.pool.workers)


TestPoolCensus = PoolMachine.TestCase
TestPoolCensus.settings = settings(
    max_examples=150,
    stateful_step_count=60,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_the_machine_reaches_every_state() -> None:
    """Teeth: the random sequences above do reach running, initializing and unhealthy workers."""
    machine = PoolMachine()
    machine.crash_rate(0.0)
    machine.submit({"sleep": 20}, False, None)
    machine.submit({"sleep": 20}, False, None)
    assert machine.pool.census["running"] == 1 and machine.pool.census["initializing"] >= 1
    machine.crash_rate(1.0)
    machine.advance(2.0)
    assert machine.pool.census["unhealthy"] >= 1
    machine.census_equals_a_recount()


def test_a_worker_that_left_its_pool_is_no_longer_counted() -> None:
    census = new_census()
    worker = SimWorker("w", "idle", census)
    worker.state = "running"
    assert census["running"] == 1 and census["idle"] == 0
    worker.leave_census()
    worker.state = "initializing"  # e.g. a backend restarting a worker the pool already dropped
    assert census == new_census()


def test_an_unknown_state_is_refused_before_anything_is_counted() -> None:
    census = new_census()
    worker = SimWorker("w", "idle", census)
    with pytest.raises(KeyError):
        worker.state = "sleeping"
    assert census == {**new_census(), "idle": 1} and worker.state == "idle"

"""LimitGate: the documented table, shared budgets, concurrency, queue rule, dynamic limit, 429s."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from emulator.clock import ManualClock
from emulator.errors import RateLimited
from emulator.limits import LimitExceeded, LimitGate, LimitHit, LimitsConfigError, Rejection, build_gate


@dataclass
class FakeQueues:
    queued: int = 0
    max_workers: int = 0
    running: int = 0

    def queue_length(self, endpoint_id: str) -> int:
        return self.queued

    def workers_max(self, endpoint_id: str) -> int:
        return self.max_workers

    def running_workers(self, endpoint_id: str) -> int:
        return self.running


def admitted(gate: LimitGate, operation: str, now: float, endpoint: str = "ep") -> bool:
    try:
        gate.admit(endpoint, operation, now)
    except LimitExceeded:
        return False
    return True


def rejection(gate: LimitGate, operation: str, now: float, endpoint: str = "ep") -> Rejection:
    with pytest.raises(LimitExceeded) as caught:
        gate.admit(endpoint, operation, now)
    return caught.value.rejection


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.mark.parametrize(
    ("operation", "rate"),
    [
        ("run", 1000),
        ("runsync", 2000),
        ("status", 2000),
        ("cancel", 100),
        ("purge_queue", 2),
        ("openai", 2000),
        ("requests", 10),
    ],
)
def test_documented_rates_per_10_s(clock: ManualClock, operation: str, rate: int) -> None:
    gate = LimitGate()
    now = clock.now()
    for _ in range(rate):
        gate.admit("ep", operation, now).release()
    hit = rejection(gate, operation, now)
    assert (hit.kind, hit.limit, hit.window_s, hit.retry_after) == ("rate", rate, 10.0, 10)
    clock.advance(10.0)
    assert admitted(gate, operation, clock.now())


@pytest.mark.parametrize(
    ("operation", "concurrency"),
    [("run", 200), ("runsync", 400), ("status", 400), ("cancel", 20), ("openai", 400), ("requests", 2)],
)
def test_documented_concurrency(clock: ManualClock, operation: str, concurrency: int) -> None:
    gate = LimitGate({"ep": {operation: {"rate": False}}})
    held = [gate.admit("ep", operation, clock.now()) for _ in range(concurrency)]
    hit = rejection(gate, operation, clock.now())
    assert (hit.kind, hit.limit, hit.retry_after) == ("concurrency", concurrency, 1)
    held.pop().release()
    assert admitted(gate, operation, clock.now())


def test_purge_queue_has_no_concurrency_limit_and_health_no_limit_at_all(clock: ManualClock) -> None:
    gate = LimitGate()
    _held = [gate.admit("ep", "purge_queue", clock.now()) for _ in range(2)]
    assert all(admitted(gate, "health", clock.now()) for _ in range(5000))


def test_release_on_completion_and_on_disconnect_frees_one_place(clock: ManualClock) -> None:
    gate = LimitGate({"ep": {"requests": {"rate": False, "concurrency": 2}}})
    first = gate.admit("ep", "requests", clock.now())
    gate.admit("ep", "requests", clock.now())
    assert not admitted(gate, "requests", clock.now())
    first.release()  # the reply was sent...
    first.release()  # ...and then the client went away: still one place
    assert admitted(gate, "requests", clock.now())
    assert not admitted(gate, "requests", clock.now())
    assert gate.describe("ep")["budgets"]["requests"]["in_flight"] == 2


def test_status_status_sync_and_stream_share_one_budget_and_retry_shares_cancel(clock: ManualClock) -> None:
    gate = LimitGate({"ep": {"status": {"rate": 3}, "cancel": {"rate": 2}}})
    now = clock.now()
    assert [admitted(gate, op, now) for op in ("status", "stream", "status_sync", "stream")] == [
        True,
        True,
        True,
        False,
    ]
    assert rejection(gate, "stream", now).budget == "status"
    assert [admitted(gate, op, now) for op in ("retry", "cancel", "retry")] == [True, True, False]
    assert "budget shared with /cancel" in rejection(gate, "retry", now).message


def test_an_operation_with_its_own_table_gets_its_own_budget(clock: ManualClock) -> None:
    gate = LimitGate({"ep": {"status": {"rate": 1}, "stream": {"rate": 2}, "health": {"rate": 1}}})
    now = clock.now()
    assert [admitted(gate, "status", now) for _ in range(2)] == [True, False]
    assert [admitted(gate, "stream", now) for _ in range(3)] == [True, True, False]
    assert [admitted(gate, "health", now) for _ in range(2)] == [True, False]


def test_concurrency_counts_held_long_polls_until_release(clock: ManualClock) -> None:
    gate = LimitGate({"ep": {"runsync": {"concurrency": 3}}})
    holds = [gate.admit("ep", "runsync", clock.now()) for _ in range(3)]
    clock.advance(90.0)  # held /runsync waits are still in flight
    assert rejection(gate, "runsync", clock.now()).kind == "concurrency"
    for hold in holds:
        hold.release()
    assert admitted(gate, "runsync", clock.now())


def test_a_refused_request_uses_no_rate_budget(clock: ManualClock) -> None:
    gate = LimitGate({"ep": {"run": {"rate": 2, "concurrency": 1}}})
    held = gate.admit("ep", "run", clock.now())
    for _ in range(5):
        assert rejection(gate, "run", clock.now()).kind == "concurrency"
    held.release()
    gate.admit("ep", "run", clock.now()).release()
    assert rejection(gate, "run", clock.now()).kind == "rate"


@pytest.mark.parametrize("algorithm", ["sliding_window", "fixed_window", "token_bucket"])
def test_algorithm_is_selectable_and_retry_after_is_exact(clock: ManualClock, algorithm: str) -> None:
    gate = LimitGate(
        {"ep": {"algorithm": algorithm, "cancel": {"rate": 4, "window_s": 8, "concurrency": False}}}
    )
    start = clock.now()  # 1000.0, a multiple of 8 s
    clock.advance(3.0)
    for _ in range(4):
        gate.admit("ep", "cancel", clock.now())
    hit = rejection(gate, "cancel", clock.now())
    expected = {"sliding_window": 8, "fixed_window": 5, "token_bucket": 2}[algorithm]
    assert hit.retry_after == expected
    clock.advance(expected - 0.5)
    assert not admitted(gate, "cancel", clock.now())
    clock.advance(0.5)
    assert admitted(gate, "cancel", clock.now())
    assert gate.describe("ep")["budgets"]["cancel"]["algorithm"] == algorithm
    assert start == 1000.0


def test_token_bucket_burst_is_configurable(clock: ManualClock) -> None:
    gate = LimitGate(
        {"ep": {"run": {"algorithm": "token_bucket", "rate": 10, "burst": 3, "concurrency": False}}}
    )
    assert [admitted(gate, "run", clock.now()) for _ in range(4)] == [True, True, True, False]
    clock.advance(1.0)  # one token per second
    assert [admitted(gate, "run", clock.now()) for _ in range(2)] == [True, False]


class TestQueueRule:
    @pytest.mark.parametrize(("queued", "ok"), [(50, True), (51, False)])
    def test_min_jobs_boundary(self, clock: ManualClock, queued: int, ok: bool) -> None:
        gate = LimitGate(queue_view=FakeQueues(queued=queued, max_workers=0))
        assert admitted(gate, "run", clock.now()) is ok
        assert admitted(gate, "runsync", clock.now()) is ok

    @pytest.mark.parametrize(("queued", "ok"), [(1500, True), (1501, False)])
    def test_workers_max_boundary(self, clock: ManualClock, queued: int, ok: bool) -> None:
        gate = LimitGate(queue_view=FakeQueues(queued=queued, max_workers=3))
        assert admitted(gate, "run", clock.now()) is ok

    def test_rejection_names_the_queue_limit(self, clock: ManualClock) -> None:
        gate = LimitGate(queue_view=FakeQueues(queued=1001, max_workers=2))
        hit = rejection(gate, "run", clock.now())
        assert (hit.kind, hit.limit, hit.retry_after) == ("queue", 1000, 1)
        assert "more than 1000 jobs" in hit.message

    def test_only_submits_are_refused_and_the_rule_is_switchable(self, clock: ManualClock) -> None:
        queues = FakeQueues(queued=10_000, max_workers=1)
        assert admitted(LimitGate(queue_view=queues), "status", clock.now())
        assert admitted(
            LimitGate({"ep": {"queue": {"enabled": False}}}, queue_view=queues), "run", clock.now()
        )

    def test_thresholds_and_operations_are_configurable(self, clock: ManualClock) -> None:
        queues = FakeQueues(queued=6, max_workers=1)
        gate = LimitGate(
            {"ep": {"queue": {"min_jobs": 5, "jobs_per_worker": 5, "operations": ["openai"]}}},
            queue_view=queues,
        )
        assert admitted(gate, "run", clock.now())
        assert not admitted(gate, "openai", clock.now())


class TestDynamicLimit:
    def test_effective_rate_is_max_of_base_and_running_workers_times_allowance(
        self, clock: ManualClock
    ) -> None:
        queues = FakeQueues(running=0)
        gate = LimitGate(
            {"ep": {"per_worker_allowance": 2, "run": {"rate": 3, "concurrency": False}}}, queue_view=queues
        )
        now = clock.now()
        assert sum(admitted(gate, "run", now) for _ in range(10)) == 3  # max(3, 0 x 2)
        queues.running = 4
        assert sum(admitted(gate, "run", now) for _ in range(10)) == 5  # max(3, 4 x 2) = 8 in the window
        assert gate.describe("ep")["budgets"]["run"]["rate"] == 8
        queues.running = 1
        clock.advance(10.0)
        assert sum(admitted(gate, "run", clock.now()) for _ in range(10)) == 3

    def test_off_by_default(self, clock: ManualClock) -> None:
        gate = LimitGate({"ep": {"requests": {"concurrency": False}}}, queue_view=FakeQueues(running=100))
        assert sum(admitted(gate, "requests", clock.now()) for _ in range(20)) == 10


def test_run_time_reconfiguration_keeps_in_flight_and_history(clock: ManualClock) -> None:
    gate = LimitGate({"ep": {"run": {"rate": 5, "concurrency": 2}}})
    first = gate.admit("ep", "run", clock.now())
    gate.admit("ep", "run", clock.now())
    gate.configure("ep", {"run": {"rate": 3, "concurrency": 3}})
    assert admitted(gate, "run", clock.now())  # 3rd accept in the window, 3rd place in flight
    assert rejection(gate, "run", clock.now()).kind == "concurrency"
    first.release()
    assert rejection(gate, "run", clock.now()).kind == "rate"


def test_limits_can_be_switched_off_per_endpoint(clock: ManualClock) -> None:
    gate = LimitGate({"ep": {"enabled": False}}, queue_view=FakeQueues(queued=10**6))
    assert all(admitted(gate, "purge_queue", clock.now()) for _ in range(100))
    assert admitted(gate, "run", clock.now())


def test_endpoints_have_separate_budgets(clock: ManualClock) -> None:
    gate = LimitGate({"a": {"purge_queue": {"rate": 1}}})
    assert admitted(gate, "purge_queue", clock.now(), "a")
    assert not admitted(gate, "purge_queue", clock.now(), "a")
    assert admitted(gate, "purge_queue", clock.now(), "b")  # default table: 2 per 10 s
    assert admitted(gate, "purge_queue", clock.now(), "b")
    assert not admitted(gate, "purge_queue", clock.now(), "b")


def test_ietf_headers_off_by_default_and_on_when_asked(clock: ManualClock) -> None:
    plain = LimitGate()
    assert plain.admit("ep", "purge_queue", clock.now()).headers == {}
    gate = LimitGate({"ep": {"ietf_headers": True}})
    ticket = gate.admit("ep", "purge_queue", clock.now())
    assert ticket.headers == {
        "RateLimit-Policy": '"purge_queue";q=2;w=10',
        "RateLimit": '"purge_queue";r=1;t=10',
    }
    clock.advance(4.0)
    gate.admit("ep", "purge_queue", clock.now())
    hit = rejection(gate, "purge_queue", clock.now())
    assert hit.headers == {
        "RateLimit-Policy": '"purge_queue";q=2;w=10',
        "RateLimit": '"purge_queue";r=0;t=10',
    }
    assert hit.retry_after == 6


def test_build_gate_raises_the_emulators_rate_limited_with_a_body_naming_the_limit(
    clock: ManualClock,
) -> None:
    gate = build_gate({"ep": {"ietf_headers": True}}, FakeQueues())
    for _ in range(2):
        gate.admit("ep", "purge_queue", clock.now())
    clock.advance(2.5)
    with pytest.raises(RateLimited) as caught:
        gate.admit("ep", "purge_queue", clock.now())
    error = caught.value
    assert isinstance(error, LimitHit) and error.status == 429
    assert error.headers["Retry-After"] == "8"
    assert error.headers["RateLimit"] == '"purge_queue";r=0;t=8'
    assert error.body() == {
        "error": "Too many requests: /purge_queue rate limit of 2 requests per 10 s; retry after 8 s",
        "status": 429,
        "limit": {
            "kind": "rate",
            "operation": "purge_queue",
            "budget": "purge_queue",
            "limit": 2,
            "window_s": 10.0,
        },
        "retry_after": 8,
    }


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"algorithm": "leaky"}, "limits.algorithm: must be one of"),
        ({"run": {"rate": 0}}, "limits.run.rate: must be a whole number, 1 or more, or false"),
        ({"run": {"rate": "10"}}, "limits.run.rate"),
        ({"run": {"window_s": 0}}, "limits.run.window_s"),
        ({"run": {"speed": 1}}, "limits.run: unknown key 'speed'"),
        ({"runn": {}}, "limits: unknown key 'runn'"),
        ({"queue": {"operations": ["submit"]}}, "limits.queue.operations"),
        ({"queue": {"enabled": "yes"}}, "limits.queue.enabled: must be true or false"),
        ({"per_worker_allowance": -1}, "limits.per_worker_allowance"),
        ({"stream": 5}, "limits.stream: must be a table"),
    ],
)
def test_bad_tables_are_refused_naming_the_key(limits: dict[str, Any], message: str) -> None:
    with pytest.raises(LimitsConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        LimitGate({"ep": limits})


def test_describe_reports_effective_limits_counters_and_accept_times(clock: ManualClock) -> None:
    gate = LimitGate({"ep": {"status": {"rate": 2, "concurrency": 5}}})
    first = gate.admit("ep", "status", clock.now())
    clock.advance(1.0)
    gate.admit("ep", "stream", clock.now())
    assert not admitted(gate, "status_sync", clock.now())
    first.release()
    report = gate.describe("ep", with_accepts=True)
    status = report["budgets"]["status"]
    assert status["operations"] == ["status", "status_sync", "stream"]
    assert (status["algorithm"], status["rate"], status["window_s"], status["concurrency"]) == (
        "sliding_window",
        2,
        10.0,
        5,
    )
    assert (status["in_flight"], status["accepted"], status["rejected"]) == (
        1,
        2,
        {"rate": 1, "concurrency": 0, "queue": 0},
    )
    assert status["recent_accepts"] == [1000.0, 1001.0]
    assert report["budgets"]["purge_queue"]["concurrency"] is None
    assert "health" not in report["budgets"]
    assert report["queue_rule"] == {
        "enabled": True,
        "min_jobs": 50,
        "jobs_per_worker": 500,
        "operations": ["run", "runsync"],
    }
    assert "recent_accepts" not in gate.describe("ep")["budgets"]["status"]

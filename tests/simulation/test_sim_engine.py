"""The simulation plays the emulator's own endpoint: small cases whose answers are known exactly."""

from __future__ import annotations

import pytest

from emulator.config import endpoint_from_table
from emulator.simulation.client import ClientModel, PollPolicy
from emulator.simulation.engine import simulate

SYNC = ClientModel({}, request_s=0.0)  # runsync_fallback with no network: end-to-end = finish - submit


def _config(**table: object):
    return endpoint_from_table({"id": "sim", **table})


def test_one_worker_serves_in_order() -> None:
    config = _config(workers_min=1, workers_max=1, cold_start_s=0, execution_time={"mean_s": 1.0})
    arrivals = [(0.0, None, "runsync_fallback"), (0.5, None, "runsync_fallback")]
    out = simulate(config, arrivals, SYNC, inputs={}, duration_s=2.0)
    assert out.completed == 2 and out.unfinished == 0
    assert sorted(out.delay_s) == pytest.approx([0.0, 0.5])
    assert sorted(out.end_to_end_s) == pytest.approx([1.0, 1.5])
    # one active worker for the 2 s window: running 0-2 s
    assert out.window_s == pytest.approx(2.0)
    assert out.totals.running == pytest.approx(2.0)
    assert out.totals.idle == pytest.approx(0.0)


def test_scale_from_zero_pays_the_cold_start_then_idles_out() -> None:
    config = _config(
        workers_min=0, workers_max=1, cold_start_s=3.0, idle_timeout_s=5.0, execution_time={"mean_s": 1.0}
    )
    out = simulate(config, [(0.0, {"sleep": 1.0}, "runsync_fallback")], SYNC, inputs={}, duration_s=20.0)
    assert out.delay_s == pytest.approx([3.0])
    assert out.end_to_end_s == pytest.approx([4.0])
    t = out.totals
    assert t.scale_ups == 1
    assert (t.initializing, t.running, t.idle) == pytest.approx((3.0, 1.0, 5.0))
    assert t.above_min == pytest.approx(9.0)  # a flex worker from its start to its idle-out
    assert t.round_up == pytest.approx(0.0)  # 9 s is whole seconds already
    assert t.timeline[0][0] == 0.0


def test_unfinished_backlog_is_drained_and_counted_in_the_window() -> None:
    config = _config(workers_min=1, workers_max=1, cold_start_s=0, execution_time={"mean_s": 2.0})
    arrivals = [(0.0, None, "runsync_fallback")] * 3
    out = simulate(config, arrivals, SYNC, inputs={}, duration_s=1.0)
    assert sorted(out.end_to_end_s) == pytest.approx([2.0, 4.0, 6.0])
    assert out.window_s == pytest.approx(6.0)  # the last job ends after the trace
    assert out.totals.max_in_queue == 2


def test_polling_client_sees_the_end_at_its_next_poll() -> None:
    client = ClientModel({"run_poll": PollPolicy(initial_s=0.2, factor=2.0, max_s=1.0)}, request_s=0.0)
    config = _config(workers_min=1, workers_max=1, cold_start_s=0)
    # polls read the job at 0.2, 0.6, 1.4, 2.4 s: a job ending at 1.0 s is seen at 1.4 s
    out = simulate(config, [(0.0, {"sleep": 1.0}, "run_poll")], client, inputs={}, duration_s=1.0)
    assert out.end_to_end_s == pytest.approx([1.4])
    assert out.polls == 3


def test_request_overhead_adds_one_round_trip_per_request() -> None:
    client = ClientModel({"run_poll": PollPolicy(initial_s=0.2, factor=2.0, max_s=1.0)}, request_s=0.01)
    config = _config(workers_min=1, workers_max=1, cold_start_s=0)
    out = simulate(config, [(0.0, {"sleep": 0.1}, "run_poll")], client, inputs={}, duration_s=1.0)
    assert out.end_to_end_s == pytest.approx([0.2 + 2 * 0.01])  # the submit and one poll


def test_client_gives_up_after_its_job_timeout() -> None:
    client = ClientModel({"run_poll": PollPolicy(initial_s=0.5, factor=1.0, max_s=0.5, job_timeout_s=2.0)})
    config = _config(workers_min=1, workers_max=1, cold_start_s=0)
    out = simulate(config, [(0.0, {"sleep": 10.0}, "run_poll")], client, inputs={}, duration_s=1.0)
    assert out.unfinished == 1 and out.completed == 0


def test_flex_lives_round_up_to_whole_seconds() -> None:
    config = _config(workers_min=0, workers_max=1, cold_start_s=0.5, idle_timeout_s=1.0)
    out = simulate(config, [(0.0, {"sleep": 0.2}, "runsync_fallback")], SYNC, inputs={}, duration_s=5.0)
    assert out.totals.above_min == pytest.approx(1.7)
    assert out.totals.round_up == pytest.approx(0.3)


def test_same_seed_same_answer() -> None:
    config = _config(
        workers_min=0, workers_max=3, execution_time={"distribution": "exponential", "mean_s": 0.5}
    )
    arrivals = [(i * 0.3, None, "run_poll") for i in range(200)]
    client = ClientModel({}, request_s=0.001)
    one = simulate(config, arrivals, client, inputs={}, duration_s=60.0, seed=7)
    two = simulate(config, arrivals, client, inputs={}, duration_s=60.0, seed=7)
    assert one.end_to_end_s == two.end_to_end_s and one.totals.total == two.totals.total

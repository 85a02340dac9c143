"""Trace replay schedules and worker-seconds from the /health timeline (pure arithmetic)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from locustfiles._trace import TraceSchedule, trace_schedules
from locustfiles._worker_seconds import worker_seconds


def test_claims_follow_the_trace_with_each_rows_body() -> None:
    sched = TraceSchedule([0.0, 0.5, 2.0], [None, b"{}", None], 100.0, drop_s=1.0, duration_s=3.0)
    first = sched.claim(100.0)
    assert (first.intended, first.body, first.dropped) == (100.0, None, 0)
    second = sched.claim(100.1)
    assert (second.intended, second.body) == (100.5, b"{}")
    assert sched.end == 103.0
    assert sched.claim(105.0).intended is None  # 102.0 was due more than drop_s ago: dropped
    assert sched.dropped == 1 and sched.claimed == 2


def test_abandon_counts_only_what_was_due() -> None:
    sched = TraceSchedule([0.0, 1.0, 5.0], [None] * 3, 0.0, drop_s=1.0, duration_s=5.0)
    assert sched.abandon(2.0) == 2
    assert sched.claim(10.0).intended is None


def test_schedules_per_flow_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"t": 0}\n{"t": 1, "flow": "runsync_fallback", "input": {"sleep": 1}}\n{"t": 2}\n')
    scheds = trace_schedules(str(path), 50.0, drop_s=1.0, duration_s=2.0)
    assert set(scheds) == {"run_poll", "runsync_fallback"}
    claim = scheds["runsync_fallback"].claim(50.0)
    assert claim.intended == 51.0 and json.loads(claim.body or b"") == {"input": {"sleep": 1}}
    assert scheds["run_poll"].claim(50.0).intended == 50.0


def test_worker_seconds_hold_each_sample_until_the_next() -> None:
    rows: list[dict[str, Any]] = [
        {"t": 0.0, "running": 0, "idle": 0, "initializing": 1},
        {"t": 2.0, "running": 1, "idle": 0, "initializing": 0},
        {"t": 3.0, "running": None, "idle": None, "initializing": None},  # no reply: skipped
        {"t": 5.0, "running": 0, "idle": 1, "initializing": 0},
        {"t": 6.0, "running": 0, "idle": 0, "initializing": 0},
    ]
    assert worker_seconds(rows) == {"total": 6.0, "running": 3.0, "idle": 1.0, "initializing": 2.0}
    assert worker_seconds(rows[:1]) is None


def test_a_replay_plan_offers_what_the_trace_holds_per_second() -> None:
    from contract.traces import Arrival, Trace
    from podbench.load_profile import load_profile
    from podbench.load_trace import apply_trace

    arrivals = [Arrival(t, None, "run_poll") for t in (0.1, 0.2, 0.3, 2.5, 9.9)]
    plan = apply_trace(load_profile("whatif"), Trace(arrivals, 9.9, "test"), speed=1.0)
    segments = [(s["start_s"], s["start_s"] + s["duration_s"], s["scale"]) for s in plan["stages"]]
    rate = plan["flows"]["run_poll"]["rate"]

    def offered(t0: float, t1: float) -> float:
        return float(sum(max(0.0, min(b, t1) - max(a, t0)) * rate * scale for a, b, scale in segments))

    assert offered(0, 1) == pytest.approx(3, rel=0.02)
    assert offered(1, 2) == pytest.approx(0)
    assert offered(0, 9.9) == pytest.approx(5)
    assert list(plan["flows"]) == ["run_poll"] and plan["flows"]["run_poll"]["slots"] >= 7

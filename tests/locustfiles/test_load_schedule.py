"""The open-model schedule: rate held, late sends kept, missed sends dropped and counted."""

from __future__ import annotations

import random

import pytest

from locustfiles._schedule import OpenSchedule


def drain_on_time(sched: OpenSchedule) -> list[float]:
    """Claim every send as if a free slot were always there exactly on time."""
    times = []
    claim = sched.claim(sched.start)
    while claim.intended is not None:
        times.append(claim.intended)
        claim = sched.claim(claim.intended)
    return times


def test_uniform_rate_gives_exactly_rate_times_duration_sends() -> None:
    sched = OpenSchedule([(0.0, 10.0, 100.0)], 1000.0, drop_s=1.0)
    times = drain_on_time(sched)
    assert len(times) == 1000
    assert times[0] == 1000.0
    assert times[1] - times[0] == pytest.approx(0.01)
    assert sched.dropped == 0


def test_stages_scale_the_rate_and_a_zero_stage_sends_nothing() -> None:
    sched = OpenSchedule([(0.0, 2.0, 10.0), (2.0, 3.0, 0.0), (3.0, 4.0, 50.0)], 0.0, drop_s=1.0)
    times = drain_on_time(sched)
    assert sum(1 for t in times if t < 2.0) == 20
    assert not [t for t in times if 2.0 <= t < 3.0]
    assert sum(1 for t in times if t >= 3.0) == 50


def test_a_slot_that_comes_back_late_sends_at_once_with_the_old_intended_time() -> None:
    sched = OpenSchedule([(0.0, 10.0, 10.0)], 0.0, drop_s=1.0)
    assert sched.claim(0.0).intended == 0.0
    late = sched.claim(0.55)  # the slot was busy; 0.1 s was due 0.45 s ago, within the drop bound
    assert late.intended == pytest.approx(0.1)
    assert late.dropped == 0


def test_sends_no_slot_could_take_within_the_bound_are_dropped_and_counted() -> None:
    sched = OpenSchedule([(0.0, 10.0, 100.0)], 0.0, drop_s=0.5)
    sched.claim(0.0)
    claim = sched.claim(3.0)  # every send due before 2.5 s is beyond the bound
    assert claim.dropped == 249  # 0.01 .. 2.49
    assert claim.intended == pytest.approx(2.5)
    rest = drain_on_time(sched)
    assert 1 + 1 + len(rest) + sched.dropped == 1000  # nothing silently absorbed


def test_poisson_arrivals_are_seeded_and_hold_the_mean_rate() -> None:
    def times(seed: int) -> list[float]:
        return drain_on_time(
            OpenSchedule([(0.0, 100.0, 50.0)], 0.0, drop_s=1.0, poisson=True, rng=random.Random(seed))
        )

    first = times(7)
    assert first == times(7)
    assert len(first) == pytest.approx(5000, rel=0.05)


def test_phase_delays_the_first_send_so_processes_do_not_all_send_at_start() -> None:
    sched = OpenSchedule([(0.0, 1.0, 2.0)], 0.0, drop_s=1.0, phase=0.5)
    assert drain_on_time(sched) == [0.25, 0.75]


def test_a_slow_flow_keeps_its_spacing_across_stage_boundaries() -> None:
    # 0.1/s over three 2 s stages: the expected count is 0.6, so one send, not one per stage
    sched = OpenSchedule([(0.0, 2.0, 0.1), (2.0, 4.0, 0.1), (4.0, 6.0, 0.1)], 0.0, drop_s=1.0)
    assert drain_on_time(sched) == [0.0]
    stepped = OpenSchedule([(0.0, 1.0, 1.5), (1.0, 2.0, 3.0)], 0.0, drop_s=1.0)
    assert drain_on_time(stepped) == pytest.approx([0.0, 2 / 3, 1 + 0.5 / 3, 1 + 1.5 / 3, 1 + 2.5 / 3])


def test_an_empty_schedule_is_over_at_once() -> None:
    assert OpenSchedule([], 5.0, drop_s=1.0).claim(5.0).intended is None


def test_stopping_counts_due_but_unclaimed_sends_as_dropped_and_ignores_future_ones() -> None:
    sched = OpenSchedule([(0.0, 10.0, 100.0)], 0.0, drop_s=1.0)
    for _ in range(300):
        sched.claim(0.0)
    assert sched.abandon(5.0) == 200  # 3.00 .. 4.99 were due; 5.00 .. 9.99 never were
    assert sched.claim(20.0).intended is None

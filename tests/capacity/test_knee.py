"""Queue trend, step summaries and knee finding on synthetic step data with a known answer."""

from __future__ import annotations

import random

import pytest
from capacity_sim import simulate_steps

from capacity.analysis import find_knee, measured_service, model_knee_rps, model_section
from capacity.model import ServiceTime
from capacity.slo import Slo
from capacity.steps import HealthSample, JobRecord, StepSummary, StepWindow, percentile, summarize
from capacity.trend import Trend, classify, fit_slope

SLO = Slo(95, 500)


def test_fit_slope_recovers_a_line() -> None:
    slope, stderr = fit_slope([(t / 10, 3 + 2 * t / 10) for t in range(50)])
    assert slope == pytest.approx(2.0)
    assert stderr == pytest.approx(0.0, abs=1e-9)


def test_noisy_flat_queue_is_stable_and_a_growing_one_is_growing() -> None:
    rng = random.Random(5)
    flat = [(t / 10, 4 + rng.uniform(-2, 2)) for t in range(40)]
    rising = [(t / 10, 4 + 5 * t / 10 + rng.uniform(-2, 2)) for t in range(40)]
    assert classify(flat, 20.0).verdict == "stable"
    assert classify(rising, 20.0).verdict == "growing"


def test_too_few_points_stay_undecided_until_the_step_time_runs_out() -> None:
    points = [(0.0, 1.0), (0.1, 2.0), (0.2, 1.0)]
    assert classify(points, 10.0).verdict == "undecided"
    assert classify(points, 10.0, final=True).verdict in ("stable", "growing")


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 95) == 95.0
    assert percentile(values, 50) == 50.0
    assert percentile([], 95) is None


def test_knee_on_simulated_steps() -> None:
    # 2 workers, mean 0.1 s: capacity 20 jobs/s. 25 and 30 jobs/s overload the endpoint.
    windows, jobs, samples, end = simulate_steps([4, 8, 12, 16, 25, 30], 8.0, 2, 0.1)
    steps = [summarize(w, jobs, samples, [], Slo(95, 1000), end) for w in windows]
    verdicts = [s.trend.verdict for s in steps]
    assert verdicts[:3] == ["stable"] * 3
    assert verdicts[-2:] == ["growing", "growing"]
    knee = find_knee(steps)
    assert knee.knee_rps == 16
    assert knee.first_failing_rps == 25
    assert knee.saturated
    assert knee.max_sustainable_rps == pytest.approx(20.0, rel=0.1)
    assert steps[1].achieved_rps == pytest.approx(8.0, rel=0.2)
    service = measured_service(steps)
    assert service is not None
    assert service.mean_s == pytest.approx(0.1, rel=0.1)


def test_unfinished_jobs_count_with_their_age() -> None:
    window = StepWindow(0, 10.0, 0.0, 4.0, verdict="stable")
    jobs = [JobRecord(0, t / 10, t / 10 + 0.1, "COMPLETED", 0.0, 100.0, 200) for t in range(30)]
    jobs += [JobRecord(0, 3.0 + t / 10, None, None, None, None, 200) for t in range(5)]
    step = summarize(window, jobs, [], [], SLO, now=6.0)
    assert step.unfinished == 5
    assert step.latency_ms["max_ms"] == pytest.approx(3000.0)
    assert not step.slo_met


def test_rate_limited_step_is_not_sustainable() -> None:
    window = StepWindow(0, 10.0, 0.0, 4.0, verdict="stable")
    jobs = [JobRecord(0, t / 10, t / 10 + 0.1, "COMPLETED", 0.0, 100.0, 200) for t in range(30)]
    jobs.append(JobRecord(0, 2.0, 2.0, "RATE_LIMITED", None, None, 429))
    step = summarize(window, jobs, [], [], SLO, now=6.0)
    assert step.rate_limited == 1
    assert not step.sustainable


def test_workers_come_from_health_samples() -> None:
    window = StepWindow(0, 10.0, 0.0, 4.0, verdict="stable")
    health = [HealthSample(1.0, 0, 1, 1, 1, 0, 0), HealthSample(2.0, 3, 2, 2, 0, 0, 0)]
    step = summarize(window, [], [], health, SLO, now=4.0)
    assert step.workers == 2
    assert step.queue["in_queue_max"] == 3


def test_model_section_puts_predictions_next_to_measurements() -> None:
    windows, jobs, samples, end = simulate_steps([5, 10, 15, 25], 6.0, 2, 0.1)
    steps = [summarize(w, jobs, samples, [], SLO, end) for w in windows]
    section, advice = model_section(steps, SLO, target_rps=30.0, workers_override=2)
    assert section["capacity_rps"] == pytest.approx(20.0, rel=0.1)
    predictions = section["predictions"]
    assert isinstance(predictions, list) and len(predictions) == 4
    assert predictions[-1]["predicted_stable"] is False
    inputs = section["inputs"]
    assert isinstance(inputs, dict)
    busy = 30.0 * inputs["mean_execution_ms"] / 1000
    assert (
        advice is not None and advice.workers_min == int(busy) + 1
    )  # Little: λ·E[S] busy, one more for ρ < 1


def test_model_knee_is_below_capacity_and_meets_the_slo() -> None:
    service = ServiceTime(0.1)
    knee = model_knee_rps(2, service, SLO, overhead_ms=5.0)
    assert 10.0 < knee < 20.0


def _step(
    offered: float, achieved: float, verdict: str, kind: str = "ramp", slo_met: bool = True
) -> StepSummary:
    trend = Trend(0.0, 0.1, 1.0, verdict)  # type: ignore[arg-type]
    return StepSummary(
        index=0,
        offered_rps=offered,
        start_t=0.0,
        end_t=1.0,
        duration_s=1.0,
        submitted=10,
        accepted=10,
        completed=10,
        failed=0,
        rate_limited=0,
        rejected=0,
        dropped=0,
        unfinished=0,
        achieved_rps=achieved,
        submit_rps=offered,
        latency_ms={},
        mean_execution_ms=None,
        mean_delay_ms=None,
        workers=None,
        queue={},
        trend=trend,
        ended_by=verdict,
        kind=kind,
        slo_met=slo_met,
    )


def test_knee_never_exceeds_the_saturated_throughput() -> None:
    # 86 jobs/s grew too slowly to be called growing within its step, but workers complete only 80
    steps = [
        _step(60, 60, "stable"),
        _step(86, 80, "stable"),
        _step(100, 79, "growing"),
        _step(130, 80, "growing", kind="saturation", slo_met=False),
    ]
    knee = find_knee(steps)
    assert knee.max_sustainable_rps == 80
    assert knee.knee_rps == 60
    assert knee.first_failing_rps == 86


def test_without_saturation_the_throughput_is_a_lower_bound() -> None:
    knee = find_knee([_step(10, 10, "stable"), _step(20, 19.5, "stable")])
    assert not knee.saturated
    assert knee.knee_rps == 20
    assert knee.max_sustainable_rps == 19.5

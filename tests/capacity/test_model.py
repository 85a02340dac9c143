"""The queueing model against textbook values and an independent simulation."""

from __future__ import annotations

import math
import random

import pytest
from capacity_sim import simulate_waits
from hypothesis import given
from hypothesis import strategies as st

from capacity.model import ServiceTime, busy_workers, capacity_rps, erlang_b, erlang_c, forecast, predict


def erlang_c_by_definition(c: int, a: float) -> float:
    """The textbook form: C = (a^c/c!)·(c/(c−a)) / (Σ_{k<c} a^k/k! + (a^c/c!)·(c/(c−a)))."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def test_erlang_c_two_workers_half_busy_waits_one_time_in_three() -> None:
    # M/M/2 at ρ = 0.5: P(wait) = 2ρ²/(1+ρ) = 1/3
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)


def test_erlang_c_one_worker_is_utilisation() -> None:
    assert erlang_c(1, 0.7) == pytest.approx(0.7)


def test_erlang_b_textbook_value() -> None:
    # Erlang B table: 5 Erlangs on 10 trunks block 1.84 % of calls
    assert erlang_b(10, 5.0) == pytest.approx(0.01838, abs=1e-5)


@given(st.integers(min_value=1, max_value=60), st.floats(min_value=0.01, max_value=0.99))
def test_erlang_c_matches_definition(c: int, rho: float) -> None:
    assert erlang_c(c, c * rho) == pytest.approx(erlang_c_by_definition(c, c * rho), rel=1e-9)


def test_overloaded_queue_always_waits() -> None:
    assert erlang_c(3, 3.0) == 1.0
    prediction = predict(40.0, 2, ServiceTime(0.1))
    assert not prediction.stable
    assert math.isinf(prediction.response_quantile_s(0.95))


def test_mm1_textbook_wait_and_sojourn() -> None:
    # M/M/1, λ = 1, μ = 2: Wq = λ/(μ(μ−λ)) = 0.5 s, W = 1/(μ−λ) = 1 s, L = λW = 1
    p = predict(1.0, 1, ServiceTime(0.5))
    assert p.mean_wait_s == pytest.approx(0.5)
    assert p.mean_response_s == pytest.approx(1.0)
    assert p.mean_in_system == pytest.approx(1.0)
    # the sojourn time of M/M/1 is Exp(μ−λ): its 95th percentile is ln(20)/(μ−λ)
    assert p.response_quantile_s(0.95) == pytest.approx(math.log(20), rel=1e-6)


def test_mm2_textbook_example() -> None:
    # λ = 2/h, μ = 1.5/h, c = 2 (a = 4/3, ρ = 2/3): P0 = 1/5, Lq = 16/15, Wq = 8/15 h
    p = predict(2.0, 2, ServiceTime(1 / 1.5))
    assert p.mean_in_queue == pytest.approx(16 / 15)
    assert p.mean_wait_s == pytest.approx(8 / 15)
    assert p.mean_in_system == pytest.approx(16 / 15 + 4 / 3)  # Little: L = Lq + λ/μ


def test_capacity_and_littles_law_on_workers() -> None:
    service = ServiceTime(0.1)
    assert capacity_rps(2, service) == pytest.approx(20.0)
    assert busy_workers(15.0, service) == pytest.approx(1.5)


@pytest.mark.parametrize(("rate", "workers"), [(15.0, 2), (60.0, 8), (7.0, 1)])
def test_mmc_agrees_with_simulation(rate: float, workers: int) -> None:
    mean = 0.1
    waits, sojourns = simulate_waits(rate, workers, lambda r: r.expovariate(1 / mean), 100_000)
    p = predict(rate, workers, ServiceTime(mean))
    assert sum(waits) / len(waits) == pytest.approx(p.mean_wait_s, rel=0.12)
    measured_p95 = sorted(sojourns)[int(0.95 * len(sojourns))]
    assert measured_p95 == pytest.approx(p.response_quantile_s(0.95), rel=0.06)


def test_allen_cunneen_and_empirical_service_for_fixed_execution_times() -> None:
    # M/D/2: waits are about half of M/M/2's; a fixed 0.1 s job is never shorter than 0.1 s
    waits, sojourns = simulate_waits(16.0, 2, lambda _r: 0.1, 60_000)
    fixed = ServiceTime.from_samples([0.1] * 100)
    assert fixed.scv == pytest.approx(0.0)
    p = predict(16.0, 2, fixed)
    assert p.mean_wait_s == pytest.approx(predict(16.0, 2, ServiceTime(0.1)).mean_wait_s / 2)
    assert sum(waits) / len(waits) == pytest.approx(p.mean_wait_s, rel=0.15)
    measured_p95 = sorted(sojourns)[int(0.95 * len(sojourns))]
    assert measured_p95 == pytest.approx(p.response_quantile_s(0.95), rel=0.1)


def test_service_time_from_samples() -> None:
    rng = random.Random(3)
    samples = [rng.expovariate(10.0) for _ in range(20_000)]
    service = ServiceTime.from_samples(samples)
    assert service.mean_s == pytest.approx(0.1, rel=0.03)
    assert service.scv == pytest.approx(1.0, rel=0.08)
    assert len(service.samples_s) <= 2000
    assert service.survival(0.1) == pytest.approx(math.exp(-1), abs=0.03)
    with pytest.raises(ValueError):
        ServiceTime.from_samples([])


def test_forecast_is_the_model_in_a_run_s_units() -> None:
    service = ServiceTime(0.2, scv=1.0)  # exponential: M/M/c exactly
    state = forecast(8.0, 2, service)  # capacity 10 jobs/s, ρ = 0.8
    assert state.stable and state.throughput_rps == 8.0 and state.utilisation == pytest.approx(0.8)
    # M/M/2 at a = 1.6: C = 0.7111, E[Wq] = C / (cμ − λ) = 0.7111 / 2 = 0.3556 s
    assert state.p_wait == pytest.approx(0.7111, abs=1e-4)
    assert state.mean_wait_s == pytest.approx(0.3556, abs=1e-4)
    assert state.mean_s == pytest.approx(0.5556, abs=1e-4)
    assert state.p50_s < state.p95_s < state.p99_s < state.quantile_s(0.999)
    # P(T > t) for M/M/c with C and θ = cμ − λ = 2, μ = 5: (1 − C)e^{−μt} + C·(θe^{−μt} − μe^{−θt})/(θ − μ)
    t = state.p95_s
    tail = (1 - state.p_wait) * math.exp(-5 * t) + state.p_wait * (
        2 * math.exp(-5 * t) - 5 * math.exp(-2 * t)
    ) / (2 - 5)
    assert tail == pytest.approx(0.05, abs=1e-6)


def test_forecast_past_capacity_is_unstable() -> None:
    state = forecast(30.0, 2, ServiceTime(0.1, scv=0.0))
    assert not state.stable and state.throughput_rps == pytest.approx(20.0)
    assert math.isinf(state.p95_s) and math.isinf(state.mean_s)

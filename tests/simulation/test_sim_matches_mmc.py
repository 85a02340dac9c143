"""On a steady Poisson trace the simulation agrees with capacity's M/M/c model (within 10 %)."""

from __future__ import annotations

import pytest

from capacity.model import ServiceTime, predict
from contract.traces import Shape, shape_trace
from emulator.config import endpoint_from_table
from emulator.simulation.client import ClientModel
from emulator.simulation.engine import simulate


@pytest.mark.parametrize(("workers", "rate"), [(3, 2.4), (5, 3.0)])
def test_p95_and_mean_match_mmc(workers: int, rate: float) -> None:
    trace = shape_trace(Shape("poisson", rate, 20_000.0, seed=11, flow="runsync_fallback"))
    config = endpoint_from_table(
        {
            "id": "mmc",
            "workers_min": workers,
            "workers_max": workers,
            "cold_start_s": 0,
            "execution_time": {"distribution": "exponential", "mean_s": 1.0},
            "ttl_s": 10**6,
        }
    )
    out = simulate(config, trace.arrivals, ClientModel({}), inputs={}, duration_s=trace.duration_s, seed=3)
    model = predict(rate, workers, ServiceTime(mean_s=1.0, scv=1.0))
    e2e = sorted(out.end_to_end_s)
    p95 = e2e[int(0.95 * len(e2e))]
    assert p95 == pytest.approx(model.response_quantile_s(0.95), rel=0.10)
    assert sum(e2e) / len(e2e) == pytest.approx(model.mean_response_s, rel=0.10)
    # Little's law on the workers: busy worker-seconds per second = λ·E[S]
    assert out.totals.running / out.window_s == pytest.approx(rate * 1.0, rel=0.05)

"""From step summaries to the capacity verdict: knee, sustainable throughput, the model's view."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from capacity.model import FORMULAS, ServiceTime, capacity_rps, predict
from capacity.recommend import Recommendation, predicted_latency_ms, recommend
from capacity.slo import Slo
from capacity.steps import StepSummary


@dataclass(frozen=True)
class Knee:
    knee_rps: float | None
    """Highest offered rate that met the SLO with a queue that did not grow (None: none did)."""
    max_sustainable_rps: float | None
    """Completions per second the endpoint sustains: measured in saturated steps when any."""
    saturated: bool
    """False when no step overloaded the endpoint: max_sustainable_rps is then a lower bound."""
    first_failing_rps: float | None


def find_knee(steps: Sequence[StepSummary]) -> Knee:
    """The knee is the highest passing rate; saturated steps (growing queue) give the throughput
    the workers deliver when always busy, which is the endpoint's sustainable completion rate.
    The saturation step (an overload held for a fixed time) measures it best; short ramp steps
    that only just tipped over are not fully saturated, so without one the best of them counts."""
    saturated = [s for s in steps if s.trend.verdict == "growing" and s.completed > 0]
    held = [s.achieved_rps for s in saturated if s.kind == "saturation"]
    if saturated:
        sustainable: float | None = held[-1] if held else max(s.achieved_rps for s in saturated)
    else:
        sustainable = max((s.achieved_rps for s in steps), default=None)
    # A rate above what always-busy workers complete cannot hold for long, even when the backlog
    # grew too slowly within one step to be called growing (stability needs λ < c·μ).
    limit = sustainable if saturated and sustainable is not None else math.inf
    passing = [s.offered_rps for s in steps if s.sustainable and s.offered_rps < limit]
    failing = [s.offered_rps for s in steps if not (s.sustainable and s.offered_rps < limit)]
    return Knee(
        knee_rps=max(passing) if passing else None,
        max_sustainable_rps=sustainable,
        saturated=bool(saturated),
        first_failing_rps=min(failing) if failing else None,
    )


def measured_service(steps: Sequence[StepSummary]) -> ServiceTime | None:
    """Execution time does not depend on load, so every completed job's sample is pooled."""
    samples = [ms / 1000 for s in steps for ms in s.execution_samples_ms if ms > 0]
    return ServiceTime.from_samples(samples) if samples else None


def measured_workers(steps: Sequence[StepSummary]) -> int | None:
    """Workers seen by /health; the busiest step shows them all."""
    return max((s.workers for s in steps if s.workers), default=None)


def light_load_overhead_ms(steps: Sequence[StepSummary]) -> float:
    """API and network time outside the queue and the worker, from the lowest-rate step."""
    for step in sorted(steps, key=lambda s: s.offered_rps):
        if step.overhead_samples_ms:
            return max(0.0, statistics.median(step.overhead_samples_ms))
    return 0.0


def model_knee_rps(workers: int, service: ServiceTime, slo: Slo, overhead_ms: float) -> float:
    """Highest arrival rate whose predicted SLO latency still meets the SLO (bisection on λ)."""
    lo, hi = 0.0, capacity_rps(workers, service)
    if predicted_latency_ms(1e-9, workers, service, slo, overhead_ms) > slo.limit_ms:
        return 0.0
    for _ in range(40):
        mid = (lo + hi) / 2
        if predicted_latency_ms(mid, workers, service, slo, overhead_ms) <= slo.limit_ms:
            lo = mid
        else:
            hi = mid
    return lo


def model_section(
    steps: Sequence[StepSummary], slo: Slo, target_rps: float | None, workers_override: int | None = None
) -> tuple[dict[str, object], Recommendation | None]:
    """The model's predictions next to each step's measurements, and the recommendation."""
    service = measured_service(steps)
    workers = workers_override or measured_workers(steps)
    overhead = light_load_overhead_ms(steps)
    section: dict[str, object] = {
        "name": "M/M/c (Erlang C) with Allen–Cunneen service-variability correction; Little's law",
        "formulas": FORMULAS,
        "inputs": {
            "workers": workers,
            "mean_execution_ms": None if service is None else round(1000 * service.mean_s, 3),
            "execution_scv": None if service is None else round(service.scv, 4),
            "overhead_ms": round(overhead, 3),
            "execution_samples": 0 if service is None else sum(len(s.execution_samples_ms) for s in steps),
        },
    }
    if service is None or not workers:
        section["predictions"] = None
        section["note"] = "no completed jobs with executionTime or no worker count: the model has no inputs"
        return section, None
    section["capacity_rps"] = round(capacity_rps(workers, service), 4)
    section["knee_rps"] = round(model_knee_rps(workers, service, slo, overhead), 4)
    section["predictions"] = [_step_prediction(s, workers, service, slo, overhead) for s in steps]
    if target_rps is None:
        return section, None
    return section, recommend(target_rps, service, slo, overhead)


def _step_prediction(
    step: StepSummary, workers: int, service: ServiceTime, slo: Slo, overhead_ms: float
) -> dict[str, object]:
    rate = step.offered_rps
    prediction = predict(rate, workers, service)
    slo_ms = predicted_latency_ms(rate, workers, service, slo, overhead_ms)
    measured_in_system = step.queue.get("in_system_mean")
    return {
        "offered_rps": rate,
        "utilisation": round(prediction.utilisation, 4),
        "predicted_throughput_rps": round(min(rate, capacity_rps(workers, service)), 4),
        "measured_throughput_rps": round(step.achieved_rps, 4),
        "predicted_slo_latency_ms": None if math.isinf(slo_ms) else round(slo_ms, 3),
        "measured_slo_latency_ms": step.latency_ms.get(slo.key),
        "predicted_mean_in_system": None if not prediction.stable else round(prediction.mean_in_system, 3),
        "measured_mean_in_system": measured_in_system,
        "predicted_stable": prediction.stable,
        "measured_queue_trend": step.trend.verdict,
    }

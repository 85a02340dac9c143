"""Worker counts for a target rate and latency, from the queueing model."""

from __future__ import annotations

import math
from dataclasses import dataclass

from capacity.model import ServiceTime, busy_workers, predict
from capacity.slo import Slo

MAX_WORKERS_SEARCHED = 10_000


@dataclass(frozen=True)
class Recommendation:
    target_rps: float
    workers_min: int
    workers_max: int | None
    """None when no worker count meets the SLO (execution time alone exceeds it)."""
    predicted_slo_ms_at_max: float | None
    predicted_slo_ms_at_min: float
    utilisation_at_min: float
    utilisation_at_max: float | None
    reason: str

    def as_json(self) -> dict[str, object]:
        return {
            "target_rps": self.target_rps,
            "workers_min": self.workers_min,
            "workers_max": self.workers_max,
            "predicted_slo_latency_ms_at_min": _finite(self.predicted_slo_ms_at_min),
            "predicted_slo_latency_ms_at_max": _finite(self.predicted_slo_ms_at_max),
            "utilisation_at_min": round(self.utilisation_at_min, 4),
            "utilisation_at_max": None
            if self.utilisation_at_max is None
            else round(self.utilisation_at_max, 4),
            "reason": self.reason,
        }


def _finite(value: float | None) -> float | None:
    return None if value is None or math.isinf(value) else round(value, 3)


def predicted_latency_ms(
    rate: float, workers: int, service: ServiceTime, slo: Slo, overhead_ms: float
) -> float:
    """The SLO's percentile of end-to-end latency that the model predicts (inf when unstable)."""
    return overhead_ms + 1000 * predict(rate, workers, service).response_quantile_s(slo.quantile)


def recommend(target_rps: float, service: ServiceTime, slo: Slo, overhead_ms: float = 0.0) -> Recommendation:
    """workersMin keeps the queue stable at the target rate; workersMax also meets the SLO."""
    if target_rps <= 0:
        raise ValueError("target rate must be positive")
    workers_min = math.floor(busy_workers(target_rps, service)) + 1
    at_min = predicted_latency_ms(target_rps, workers_min, service, slo, overhead_ms)
    floor_ms = overhead_ms + 1000 * _service_quantile_s(service, slo.quantile)
    if floor_ms > slo.limit_ms:
        return Recommendation(
            target_rps,
            workers_min,
            None,
            None,
            at_min,
            target_rps * service.mean_s / workers_min,
            None,
            f"no worker count meets {slo.describe()}: execution time plus overhead alone gives "
            f"{floor_ms:.0f} ms at that percentile",
        )
    workers = workers_min
    latency = at_min
    while latency > slo.limit_ms and workers < MAX_WORKERS_SEARCHED:
        workers += 1
        latency = predicted_latency_ms(target_rps, workers, service, slo, overhead_ms)
    reason = (
        f"{workers_min} workers keep the queue stable at {target_rps:.4g} jobs/s "
        f"(λ·E[S] = {busy_workers(target_rps, service):.2f} busy on average); {workers} meet "
        f"{slo.describe()} (predicted {latency:.0f} ms)"
    )
    return Recommendation(
        target_rps,
        workers_min,
        workers,
        latency,
        at_min,
        target_rps * service.mean_s / workers_min,
        target_rps * service.mean_s / workers,
        reason,
    )


def _service_quantile_s(service: ServiceTime, q: float) -> float:
    if service.samples_s:
        index = min(len(service.samples_s) - 1, math.ceil(q * len(service.samples_s)) - 1)
        return service.samples_s[max(0, index)]
    return -service.mean_s * math.log(1 - q)

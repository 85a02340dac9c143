"""Queueing model of a job endpoint: Little's law and M/M/c (Erlang C), with a service-time
variability correction (Allen–Cunneen) for workers whose execution time is not exponential.

A job endpoint is c workers in front of one FIFO queue. Jobs arrive at λ per second (Poisson),
each holds a worker for S seconds (mean E[S], so μ = 1/E[S]). The offered load is a = λ·E[S]
Erlangs and the utilisation ρ = a / c; the queue is stable only when ρ < 1, so the capacity is
c / E[S] jobs per second. The formulas in `FORMULAS` are written into capacity.json so the report
can show them next to the numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

FORMULAS: dict[str, str] = {
    "littles_law": "L = λ·W (jobs in a stable system = arrival rate × time in system); busy workers = λ·E[S]",
    "offered_load": "a = λ·E[S] Erlangs; utilisation ρ = a / c; stable only if ρ < 1",
    "capacity": "capacity = c / E[S] jobs/s (c workers, mean execution time E[S])",
    "erlang_c": "C(c, a) = B(c, a) / (1 − ρ·(1 − B(c, a))), Erlang B by recursion "
    "B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1))",
    "mmc_wait": "E[Wq] = C(c, a) / (c·μ − λ); P(Wq > t) = C(c, a)·exp(−(c·μ − λ)·t)",
    "mmc_response": "T = Wq + S; E[T] = E[Wq] + E[S]; quantiles of T solved numerically from "
    "P(T > t) = (1 − C)·P(S > t) + C·P(Wq' + S > t)",
    "allen_cunneen": "M/G/c correction: waits scale by k = (c_a² + c_s²) / 2 with c_a² = 1 (Poisson "
    "arrivals) and c_s² = Var[S] / E[S]² measured; k = 1 is M/M/c",
    "end_to_end": "predicted end-to-end = overhead + T, overhead = median(measured end-to-end − "
    "delayTime − executionTime) at light load",
    "workers_min": "workers_min = ⌊λ·E[S]⌋ + 1: the fewest workers with ρ < 1 at the target rate "
    "(fewer and the backlog grows without bound, Little's law)",
    "workers_max": "workers_max = the fewest workers whose predicted SLO quantile of end-to-end "
    "latency at the target rate meets the SLO",
}


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of an M/M/c/c system, by the numerically stable recursion."""
    if c < 0 or a < 0:
        raise ValueError("erlang_b needs c >= 0 and a >= 0")
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability that an arriving job waits in an M/M/c queue (1.0 when ρ >= 1)."""
    if c < 1:
        raise ValueError("erlang_c needs at least one worker")
    if a <= 0:
        return 0.0
    rho = a / c
    if rho >= 1:
        return 1.0
    b = erlang_b(c, a)
    return b / (1 - rho * (1 - b))


@dataclass(frozen=True)
class ServiceTime:
    """What the workers do: mean execution time and how variable it is (c_s² = Var/mean²)."""

    mean_s: float
    scv: float = 1.0
    """Squared coefficient of variation; 1.0 is exponential, 0.0 deterministic."""
    samples_s: tuple[float, ...] = ()
    """Measured execution times, used for response-time quantiles; empty = assume exponential."""

    @classmethod
    def from_samples(cls, samples_s: Sequence[float], keep: int = 2000) -> ServiceTime:
        """Mean and variability from measured execution times (a thinned copy is kept)."""
        if not samples_s:
            raise ValueError("no execution time samples")
        n = len(samples_s)
        mean = sum(samples_s) / n
        if mean <= 0:
            raise ValueError("mean execution time must be positive")
        var = sum((s - mean) ** 2 for s in samples_s) / max(1, n - 1)
        stride = max(1, n // keep)
        return cls(mean, var / mean**2, tuple(sorted(samples_s[::stride])))

    def survival(self, t: float) -> float:
        """P(S > t): empirical when samples exist, exponential otherwise."""
        if t < 0:
            return 1.0
        if self.samples_s:
            return _empirical_survival(self.samples_s, t)
        return math.exp(-t / self.mean_s)


def _empirical_survival(sorted_samples: tuple[float, ...], t: float) -> float:
    lo, hi = 0, len(sorted_samples)
    while lo < hi:  # first index with sample > t
        mid = (lo + hi) // 2
        if sorted_samples[mid] <= t:
            lo = mid + 1
        else:
            hi = mid
    return (len(sorted_samples) - lo) / len(sorted_samples)


@dataclass(frozen=True)
class QueuePrediction:
    """The model's answer for c workers at arrival rate λ."""

    arrival_rps: float
    workers: int
    utilisation: float
    stable: bool
    p_wait: float
    mean_wait_s: float
    mean_response_s: float
    mean_in_queue: float
    mean_in_system: float
    variability_factor: float
    service: ServiceTime

    def response_quantile_s(self, q: float) -> float:
        """Time t with P(T <= t) = q for T = queue wait + execution (inf when unstable)."""
        if not 0 < q < 1:
            raise ValueError("quantile must be in (0, 1)")
        if not self.stable:
            return math.inf
        theta = (self.workers / self.service.mean_s - self.arrival_rps) / self.variability_factor
        lo, hi = 0.0, self.service.mean_s
        while self.response_survival(hi, theta) > 1 - q:
            hi *= 2
        for _ in range(60):
            mid = (lo + hi) / 2
            if self.response_survival(mid, theta) > 1 - q:
                lo = mid
            else:
                hi = mid
        return hi

    def response_survival(self, t: float, theta: float) -> float:
        """P(Wq + S > t) with Wq = 0 w.p. 1 − C, else Exp(θ)."""
        service = self.service
        no_wait = (1 - self.p_wait) * service.survival(t)
        if self.p_wait == 0:
            return no_wait
        if service.samples_s:
            tail = sum(1.0 if s > t else math.exp(-theta * (t - s)) for s in service.samples_s)
            waited = tail / len(service.samples_s)
        else:
            waited = _hypoexponential_survival(theta, 1 / service.mean_s, t)
        return no_wait + self.p_wait * waited


def _hypoexponential_survival(rate1: float, rate2: float, t: float) -> float:
    """P(X1 + X2 > t) for independent exponentials with the given rates."""
    if math.isclose(rate1, rate2, rel_tol=1e-9):
        return (1 + rate1 * t) * math.exp(-rate1 * t)
    return (rate1 * math.exp(-rate2 * t) - rate2 * math.exp(-rate1 * t)) / (rate1 - rate2)


def predict(arrival_rps: float, workers: int, service: ServiceTime) -> QueuePrediction:
    """M/M/c (or M/G/c by Allen–Cunneen when service.scv != 1) at the given rate."""
    if arrival_rps < 0 or workers < 1:
        raise ValueError("predict needs arrival_rps >= 0 and workers >= 1")
    mu = 1 / service.mean_s
    load = arrival_rps * service.mean_s
    rho = load / workers
    factor = (1 + service.scv) / 2
    if rho >= 1:
        inf = math.inf
        return QueuePrediction(arrival_rps, workers, rho, False, 1.0, inf, inf, inf, inf, factor, service)
    p_wait = erlang_c(workers, load)
    mean_wait = factor * p_wait / (workers * mu - arrival_rps)
    mean_response = mean_wait + service.mean_s
    return QueuePrediction(
        arrival_rps=arrival_rps,
        workers=workers,
        utilisation=rho,
        stable=True,
        p_wait=p_wait,
        mean_wait_s=mean_wait,
        mean_response_s=mean_response,
        mean_in_queue=arrival_rps * mean_wait,  # Little's law on the queue
        mean_in_system=arrival_rps * mean_response,  # ... and on the whole system
        variability_factor=factor,
        service=service,
    )


def capacity_rps(workers: int, service: ServiceTime) -> float:
    """The throughput c workers can sustain: c / E[S]."""
    return workers / service.mean_s


def busy_workers(arrival_rps: float, service: ServiceTime) -> float:
    """Little's law on the workers: the mean number busy at rate λ is λ·E[S]."""
    return arrival_rps * service.mean_s


@dataclass(frozen=True)
class SteadyState:
    """The model's forecast for c workers at arrival rate λ, in the units a run reports.

    Response time T is queue wait + execution (the endpoint's own time, without the client's
    network overhead). When the queue is unstable (ρ >= 1) throughput is the capacity c / E[S]
    and every response time is infinite: the backlog grows without bound.
    """

    arrival_rps: float
    workers: int
    throughput_rps: float
    utilisation: float
    stable: bool
    p_wait: float
    mean_wait_s: float
    mean_s: float
    p50_s: float
    p95_s: float
    p99_s: float
    service: ServiceTime = field(repr=False)

    def quantile_s(self, q: float) -> float:
        """Any other response-time quantile (0 < q < 1), e.g. 0.999."""
        return predict(self.arrival_rps, self.workers, self.service).response_quantile_s(q)


def forecast(arrival_rps: float, workers: int, service: ServiceTime) -> SteadyState:
    """Throughput and response-time percentiles of `workers` workers at `arrival_rps` (Poisson
    arrivals; service times as measured in `service`, e.g. `ServiceTime.from_samples(seconds)`,
    or `ServiceTime(mean_s, scv)` for a known distribution: scv 0 fixed, 1 exponential).

    A stable entry point for other tools that compare their own figures with the model."""
    p = predict(arrival_rps, workers, service)
    quantile = p.response_quantile_s
    return SteadyState(
        arrival_rps=arrival_rps,
        workers=workers,
        throughput_rps=min(arrival_rps, capacity_rps(workers, service)),
        utilisation=p.utilisation,
        stable=p.stable,
        p_wait=p.p_wait,
        mean_wait_s=p.mean_wait_s,
        mean_s=p.mean_response_s,
        p50_s=quantile(0.5),
        p95_s=quantile(0.95),
        p99_s=quantile(0.99),
        service=service,
    )

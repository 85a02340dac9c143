"""An LLM sweep's advice: how many concurrent sequences, and so workers, a target rate needs to
meet the goodput objective (capacity/README.md, "LLM sweeps").

The servers of the queue are sequence slots (workers × sequences per worker, as continuous
batching runs them); a request holds one from its start to its last token, and its TTFT is its
queue wait plus its first-token time. Neither is seen directly on the OpenAI route (TTFT there
includes the wait), so: decode time (end to end − TTFT, no wait in it) is taken at the knee,
where batches are as full as the objective allows; the first-token time is taken at the lightest
step (little waiting) and stretched by how much slower decoding was at the knee than there (a
fuller batch slows prefill and decode alike, as the emulator's model and real engines do).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace

from capacity.model import ServiceTime, predict
from capacity.slo import Slo
from capacity.steps import StepSummary

MAX_SLOTS = 100_000


@dataclass(frozen=True)
class LlmAdvice:
    target_rps: float
    sequences_per_worker: int
    sequences_min: int
    """λ·E[hold] + 1: the fewest concurrent sequences with a stable queue."""
    sequences: int
    """The fewest concurrent sequences whose predicted TTFT and end to end meet the objective."""
    workers: int
    predicted_ttft_ms: float
    predicted_e2e_ms: float
    busy_sequences: float
    statement: str

    def as_json(self) -> dict[str, object]:
        return {
            "target_rps": self.target_rps,
            "sequences_per_worker": self.sequences_per_worker,
            "sequences_min": self.sequences_min,
            "sequences": self.sequences,
            "workers": self.workers,
            "predicted_ttft_ms": round(self.predicted_ttft_ms, 3),
            "predicted_e2e_ms": round(self.predicted_e2e_ms, 3),
            "busy_sequences": round(self.busy_sequences, 3),
            "statement": self.statement,
        }


def knee_step(steps: Sequence[StepSummary], knee_rps: float | None) -> StepSummary | None:
    """The step whose requests describe the knee: the highest passing one, else the lowest rate."""
    with_samples = [s for s in steps if s.decode_samples_ms]
    passing = [s for s in with_samples if knee_rps is not None and s.offered_rps == knee_rps]
    if passing:
        return passing[-1]
    return light_step(steps)


def light_step(steps: Sequence[StepSummary]) -> StepSummary | None:
    """The lowest-rate step with completed requests: their TTFT is nearly all first-token time."""
    return min((s for s in steps if s.decode_samples_ms), key=lambda s: s.offered_rps, default=None)


def service_samples_s(knee: StepSummary, light: StepSummary) -> tuple[list[float], list[float]]:
    """(first-token times, slot-hold times) in seconds, as the module's docstring derives them."""
    decode = [ms / 1000 for ms in knee.decode_samples_ms]
    light_decode = statistics.fmean(light.decode_samples_ms) / 1000
    stretch = max(1.0, statistics.fmean(decode) / light_decode) if light_decode > 0 else 1.0
    first = [stretch * ms / 1000 for ms in light.ttft_samples_ms]
    mean_first = statistics.fmean(first)
    return first, [d + mean_first for d in decode]


def measured_sequences_per_worker(steps: Sequence[StepSummary]) -> int | None:
    """Requests in progress per worker at its fullest (all batches full once a step saturates)."""
    seen = [s.sequences_per_worker for s in steps if s.sequences_per_worker]
    return max(1, round(max(seen))) if seen else None


def quantile_of_wait_plus(
    slots: int, rate: float, hold: ServiceTime, samples_s: Sequence[float], q: float
) -> float:
    """Time t with P(Wq + X <= t) = q: Wq the M/G/c wait of `slots` servers holding for `hold`,
    X drawn from `samples_s` (first-token or whole-request times)."""
    state = predict(rate, slots, hold)
    if not state.stable:
        return math.inf
    theta = (slots / hold.mean_s - rate) / state.variability_factor
    with_x = replace(state, service=ServiceTime.from_samples(samples_s))
    lo, hi = 0.0, max(samples_s)
    while with_x.response_survival(hi, theta) > 1 - q:
        hi *= 2
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if with_x.response_survival(mid, theta) > 1 - q else (lo, mid)
    return hi


def advise(
    target_rps: float, slo: Slo, knee: StepSummary, light: StepSummary, sequences_per_worker: int
) -> LlmAdvice | None:
    """Fewest sequence slots meeting the TTFT and end-to-end thresholds at the objective's share."""
    tokens = slo.tokens
    if tokens is None or not knee.decode_samples_ms or not light.ttft_samples_ms or target_rps <= 0:
        return None
    ttft_s, hold_s = service_samples_s(knee, light)
    hold = ServiceTime.from_samples(hold_s)
    busy = target_rps * hold.mean_s
    slots = sequences_min = math.floor(busy) + 1
    while True:
        ttft = 1000 * quantile_of_wait_plus(slots, target_rps, hold, ttft_s, slo.quantile)
        e2e = 1000 * quantile_of_wait_plus(slots, target_rps, hold, hold_s, slo.quantile)
        meets = (tokens.ttft_ms is None or ttft <= tokens.ttft_ms) and (
            tokens.e2e_ms is None or e2e <= tokens.e2e_ms
        )
        floor_reached = ttft <= 1000 * _quantile(ttft_s, slo.quantile) * 1.001
        if meets or floor_reached or slots >= MAX_SLOTS:
            break
        slots += 1
    workers = math.ceil(slots / sequences_per_worker)
    verdict = "" if meets else " (no count meets it: the first-token or request time alone is too long)"
    statement = (
        f"at {target_rps:g} req/s with {slo.describe()}: {workers} worker{'' if workers == 1 else 's'} × {sequences_per_worker} sequences"
        f"{verdict}; {slots} sequences in flight needed (λ·E[hold] = {busy:.2f} busy on average, "
        f"predicted TTFT p{slo.percentile:g} {ttft:.0f} ms, end to end {e2e:.0f} ms)"
    )
    return LlmAdvice(
        target_rps, sequences_per_worker, sequences_min, slots, workers, ttft, e2e, busy, statement
    )


def _quantile(samples: Sequence[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

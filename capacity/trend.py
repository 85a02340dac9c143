"""Is the queue growing? A least-squares slope of jobs-in-system over time, with its error.

A step is held until the slope is confidently below the growth threshold (stable) or
confidently above it (growing); the threshold is a fraction of the offered rate, since a
backlog that grows by 10 % of the arrivals every second is an endpoint that cannot keep up.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["stable", "growing", "undecided"]

GROWTH_FRACTION = 0.1
"""A queue growing faster than this fraction of the offered rate (jobs/s per job/s) is growing."""
MIN_GROWTH_PER_S = 1.0
"""...and faster than this many jobs per second, so a queue of two or three jobs is not 'growing'."""
CONFIDENCE_Z = 2.0
MIN_POINTS = 10


@dataclass(frozen=True)
class Trend:
    slope_per_s: float
    stderr: float
    threshold_per_s: float
    verdict: Verdict

    def as_json(self) -> dict[str, object]:
        return {
            "verdict": self.verdict,
            "slope_jobs_per_s": round(self.slope_per_s, 4),
            "slope_stderr": None if math.isinf(self.stderr) else round(self.stderr, 4),
            "growth_threshold_jobs_per_s": round(self.threshold_per_s, 4),
        }


def growth_threshold(offered_rps: float) -> float:
    return max(MIN_GROWTH_PER_S, GROWTH_FRACTION * offered_rps)


def fit_slope(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """OLS slope of value over time and its standard error (inf with fewer than 3 points).

    A queue's length is strongly autocorrelated, so the plain OLS error is far too small; it is
    widened by the AR(1) factor sqrt((1 + r) / (1 − r)) from the residuals' lag-1 correlation.
    """
    n = len(points)
    if n < 3:
        return 0.0, math.inf
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    sxx = sum((t - mean_t) ** 2 for t, _ in points)
    if sxx == 0:
        return 0.0, math.inf
    slope = sum((t - mean_t) * (v - mean_v) for t, v in points) / sxx
    intercept = mean_v - slope * mean_t
    residuals = [v - intercept - slope * t for t, v in points]
    sse = sum(r * r for r in residuals)
    if sse == 0:
        return slope, 0.0
    lag1 = sum(a * b for a, b in zip(residuals, residuals[1:], strict=False)) / sse
    lag1 = min(max(lag1, 0.0), 0.98)
    return slope, math.sqrt(sse / (n - 2) / sxx * (1 + lag1) / (1 - lag1))


def counting_stderr(events: int, span_s: float) -> float:
    """Error of a growth rate read from `events` arrivals plus completions over `span_s`: both
    are close to Poisson counts, so the backlog's change has a variance of about their sum."""
    return math.inf if span_s <= 0 else math.sqrt(max(events, 1)) / span_s


def classify(
    points: Sequence[tuple[float, float]],
    offered_rps: float,
    *,
    final: bool = False,
    floor_stderr: float = 0.0,
) -> Trend:
    """Stable / growing when the slope's confidence interval clears the threshold; at the step's
    time limit (`final`) the point estimate decides. `floor_stderr` (e.g. `counting_stderr`) keeps
    a short, lucky run of arrivals from looking like a certain trend."""
    threshold = growth_threshold(offered_rps)
    slope, stderr = fit_slope(points)
    verdict: Verdict = "undecided"
    if len(points) >= MIN_POINTS:
        # A stable queue reverts to its mean, so the AR(1)-widened fit error is fair for calling it
        # stable; a growing one is a random walk, whose slope is only as sure as the counts behind it.
        if slope - CONFIDENCE_Z * max(stderr, floor_stderr) > threshold:
            verdict = "growing"
        elif slope + CONFIDENCE_Z * stderr < threshold:
            verdict = "stable"
    if verdict == "undecided" and final:
        verdict = "growing" if slope > threshold else "stable"
    return Trend(slope, stderr, threshold, verdict)

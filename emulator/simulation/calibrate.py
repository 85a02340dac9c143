"""Settings measured in a real run: the execution-time distribution, the cold start, the overhead.

Pure arithmetic on the numbers a result folder holds (the CLI reads the files): `executionTime`
of every job that ran, the `/health` timeline's `initializing` counts, and each polled job's
end-to-end time and poll count.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from emulator.simulation.client import PollPolicy

FIXED_BELOW_SCV = 0.01
"""Execution times this regular (squared coefficient of variation) are simulated as fixed."""


def fit_execution(seconds: Sequence[float]) -> dict[str, Any] | None:
    """An `execution_time` table matching the samples' mean and variance (lognormal by moments:
    sigma² = ln(1 + scv)), or fixed when they barely vary. None without samples."""
    if not seconds:
        return None
    mean = statistics.fmean(seconds)
    if mean <= 0:
        return {"distribution": "fixed", "mean_s": 0.0, "spread_s": 0.0}
    scv = statistics.pvariance(seconds, mean) / (mean * mean)
    if scv < FIXED_BELOW_SCV:
        return {"distribution": "fixed", "mean_s": round(mean, 6), "spread_s": 0.0}
    return {
        "distribution": "lognormal",
        "mean_s": round(mean, 6),
        "spread_s": round(math.sqrt(math.log1p(scv)), 6),
    }


def cold_start_s(rows: Sequence[tuple[float, int, int]]) -> float | None:
    """Mean cold start from a `(t, initializing, live workers)` timeline: initializing
    worker-seconds divided by the workers that started. A start shows as a rise of the live count
    (a worker becoming ready while the next one starts leaves `initializing` flat) or of
    `initializing` (a start hidden by an idle-out in the same interval); the larger count is
    taken. None when no worker was seen starting."""
    seconds = 0.0
    rises_init = rises_live = 0
    previous_init = previous_live = None
    for i, (t, initializing, live) in enumerate(rows):
        if previous_init is not None and previous_live is not None:
            rises_init += max(0, initializing - previous_init)
            rises_live += max(0, live - previous_live)
        if i + 1 < len(rows):
            seconds += initializing * (rows[i + 1][0] - t)
        previous_init, previous_live = initializing, live
    starts = max(rises_init, rises_live)
    return round(seconds / starts, 3) if starts and seconds > 0 else None


def request_s(jobs: Sequence[tuple[float, int]], policy: PollPolicy) -> float | None:
    """One request's round trip, from polled jobs `(end_to_end_s, polls)`: what is left of each
    end-to-end time once the client's sleeps are taken out, shared by its polls and its submit
    (median over jobs). None without polled jobs."""
    sleeps = [0.0]
    delay = policy.initial_s
    per_job = []
    for e2e, polls in jobs:
        if polls <= 0:
            continue
        while len(sleeps) <= polls:
            sleeps.append(sleeps[-1] + delay)
            delay = min(delay * policy.factor, policy.max_s)
        per_job.append(max(0.0, e2e - sleeps[polls]) / (polls + 1))
    return round(statistics.median(per_job), 6) if per_job else None

"""A tiny discrete-event simulation of c FIFO workers: independent ground truth for the model
and synthetic step data for the knee finder."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Sequence

from capacity.steps import JobRecord, StepWindow


def simulate_waits(
    rate: float, workers: int, service: Callable[[random.Random], float], jobs: int, seed: int = 1
) -> tuple[list[float], list[float]]:
    """Queue waits and sojourn times (seconds) of `jobs` Poisson arrivals, after a warm-up tenth."""
    rng = random.Random(seed)
    free_at = [0.0] * workers
    t = 0.0
    waits: list[float] = []
    sojourns: list[float] = []
    for i in range(jobs):
        t += rng.expovariate(rate)
        start = max(t, heapq.heappop(free_at))
        s = service(rng)
        heapq.heappush(free_at, start + s)
        if i > jobs // 10:
            waits.append(start - t)
            sojourns.append(start + s - t)
    return waits, sojourns


def simulate_steps(
    rates: Sequence[float], hold_s: float, workers: int, mean_s: float, seed: int = 7
) -> tuple[list[StepWindow], list[JobRecord], list[tuple[float, float]], float]:
    """Step data as the runner records it: jobs, in-system samples every 0.1 s, windows."""
    rng = random.Random(seed)
    free_at = [0.0] * workers
    jobs: list[JobRecord] = []
    windows: list[StepWindow] = []
    t = 0.0
    for index, rate in enumerate(rates):
        window = StepWindow(index, rate, t, t + hold_s, verdict="undecided", ended_by="max_hold")
        windows.append(window)
        t += rng.expovariate(rate)
        while t < window.end_t:
            start = max(t, heapq.heappop(free_at))
            s = rng.expovariate(1 / mean_s)
            heapq.heappush(free_at, start + s)
            jobs.append(JobRecord(index, t, start + s, "COMPLETED", 1000 * (start - t), 1000 * s, 200))
            t += rng.expovariate(rate)
        t = window.end_t
    end = windows[-1].end_t
    samples: list[tuple[float, float]] = []
    for k in range(int(end * 10) + 1):
        now = k / 10
        samples.append((now, float(sum(1 for j in jobs if j.submitted_t <= now and (j.done_t or 0) > now))))
    for j in jobs:  # the run ended at `end`: later completions were never seen
        if j.done_t is not None and j.done_t > end:
            j.done_t, j.status, j.execution_ms = None, None, None
    return windows, jobs, samples, end

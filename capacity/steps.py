"""What one step measured, from the raw job records and samples of a run (pure functions)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from capacity.slo import Slo, TokenSlo
from capacity.trend import Trend, classify
from contract.states import FINAL_NAMES

SETTLE_FRACTION = 0.25
"""Throughput is counted after the first quarter of a step (at most MAX_SETTLE_S): the pipeline fills first."""
MAX_SETTLE_S = 1.0
FINAL_STATUSES = FINAL_NAMES
REFUSED_STATUSES = frozenset({"RATE_LIMITED", "HTTP_ERROR", "CLIENT_ERROR", "DROPPED", "NOT_SENT"})
"""Jobs the client saw refused or lost: DROPPED is a connection that closed before its answer."""


@dataclass
class JobRecord:
    """One job as the client saw it; times are seconds since the run started."""

    step: int
    submitted_t: float
    done_t: float | None = None
    status: str | None = None
    delay_ms: float | None = None
    execution_ms: float | None = None
    http_status: int | None = None
    polls: int = 0
    first_token_t: float | None = None
    """LLM requests: when the first token arrived, and how many have (usage when the stream sends it)."""
    tokens: int = 0

    def ttft_ms(self) -> float | None:
        return None if self.first_token_t is None else 1000 * (self.first_token_t - self.submitted_t)

    def tpot_ms(self, now: float) -> float | None:
        """(end to end − TTFT) / (tokens − 1), so far when unfinished; None below two tokens."""
        if self.first_token_t is None or self.tokens < 2:
            return None
        end = self.done_t if self.done_t is not None else now
        return 1000 * (end - self.first_token_t) / (self.tokens - 1)

    @property
    def accepted(self) -> bool:
        """Not refused (429, HTTP error, client error, never sent); a job still in flight counts."""
        return self.status not in REFUSED_STATUSES

    def latency_ms(self, now: float) -> float:
        """End-to-end latency, or the job's age at `now` when it has not finished (censored)."""
        end = self.done_t if self.done_t is not None else now
        return 1000 * (end - self.submitted_t)


@dataclass(frozen=True)
class HealthSample:
    t: float
    in_queue: int
    in_progress: int
    workers_running: int
    workers_idle: int
    workers_initializing: int
    workers_throttled: int

    @property
    def workers(self) -> int:
        """Workers able to take jobs (`ready` duplicates `idle` in every captured body)."""
        return self.workers_running + self.workers_idle


@dataclass
class StepWindow:
    index: int
    offered_rps: float
    start_t: float
    end_t: float = math.nan
    verdict: str = "undecided"
    ended_by: str = ""
    kind: str = "ramp"
    """ramp | refine (bisection between pass and fail) | saturation (overload held to measure throughput)"""


@dataclass
class StepSummary:
    index: int
    offered_rps: float
    start_t: float
    end_t: float
    duration_s: float
    submitted: int
    accepted: int
    completed: int
    failed: int
    rate_limited: int
    rejected: int
    dropped: int
    unfinished: int
    achieved_rps: float
    submit_rps: float
    latency_ms: dict[str, float | None]
    mean_execution_ms: float | None
    mean_delay_ms: float | None
    workers: int | None
    queue: dict[str, float | None]
    trend: Trend
    ended_by: str
    kind: str
    slo_met: bool
    llm: dict[str, float | None] | None = None
    """LLM sweeps: goodput_rps, good_share (of judged requests), ttft/tpot percentiles, tokens/s."""
    execution_samples_ms: list[float] = field(default_factory=list, repr=False)
    overhead_samples_ms: list[float] = field(default_factory=list, repr=False)
    ttft_samples_ms: list[float] = field(default_factory=list, repr=False)
    decode_samples_ms: list[float] = field(default_factory=list, repr=False)
    """LLM sweeps: TTFT (queue wait included) and end to end − TTFT (no wait in it) of each completed request."""
    sequences_per_worker: float | None = None
    """LLM sweeps: the most requests in progress per worker /health showed in the step."""

    @property
    def sustainable(self) -> bool:
        return self.slo_met and self.trend.verdict != "growing"


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Nearest-rank percentile (the value at or below which pct % of samples lie)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summarize(
    window: StepWindow,
    jobs: Sequence[JobRecord],
    in_system: Sequence[tuple[float, float]],
    health: Sequence[HealthSample],
    slo: Slo,
    now: float,
    latency_before: float | None = None,
) -> StepSummary:
    """Throughput counts completions inside the step; latency follows the jobs submitted in it
    (unfinished ones count with their age at `now`, so a backlog can only make it look worse).
    `latency_before` limits latency to jobs submitted by then (mid-run, younger ones are not judged)."""
    start, end = window.start_t, window.end_t
    settle = min(MAX_SETTLE_S, SETTLE_FRACTION * (end - start))
    own = [j for j in jobs if j.step == window.index]
    accepted = [j for j in own if j.accepted]
    finished_in_window = [
        j
        for j in jobs
        if j.done_t is not None and start + settle <= j.done_t <= end and j.status == "COMPLETED"
    ]
    measured_s = max(1e-9, end - start - settle)
    horizon = math.inf if latency_before is None else latency_before
    latencies = [
        j.latency_ms(now) for j in accepted if j.status in (None, "COMPLETED") and j.submitted_t <= horizon
    ]
    completed = [j for j in accepted if j.status == "COMPLETED"]
    executions = [j.execution_ms for j in completed if j.execution_ms is not None]
    delays = [j.delay_ms for j in completed if j.delay_ms is not None]
    overheads = [
        1000 * (j.done_t - j.submitted_t) - j.delay_ms - j.execution_ms
        for j in completed
        if j.done_t is not None and j.delay_ms is not None and j.execution_ms is not None
    ]
    in_step = [(t, v) for t, v in in_system if start + settle <= t <= end]
    samples = [h for h in health if start <= h.t <= end]
    trend = classify(in_step, window.offered_rps, final=True)
    if window.verdict in ("stable", "growing"):
        trend = Trend(trend.slope_per_s, trend.stderr, trend.threshold_per_s, window.verdict)  # type: ignore[arg-type]
    latency = {
        key: percentile(latencies, pct)
        for key, pct in (("p50_ms", 50), ("p90_ms", 90), ("p95_ms", 95), ("p99_ms", 99))
    }
    latency["max_ms"] = max(latencies) if latencies else None
    latency[slo.key] = percentile(latencies, slo.percentile)
    slo_value = latency[slo.key]
    slo_met = slo_value is not None and slo.met_by(slo_value) and len(accepted) == len(own)
    llm = None
    if slo.tokens is not None:
        llm = token_figures(accepted, finished_in_window, slo.tokens, now, horizon, measured_s)
        share = llm["good_share"]
        slo_met = share is not None and share >= slo.quantile and len(accepted) == len(own)
    return StepSummary(
        index=window.index,
        offered_rps=window.offered_rps,
        start_t=start,
        end_t=end,
        duration_s=end - start,
        submitted=len(own),
        accepted=len(accepted),
        completed=len(completed),
        failed=sum(1 for j in accepted if j.status in FINAL_STATUSES and j.status != "COMPLETED"),
        rate_limited=sum(1 for j in own if j.http_status == 429),
        rejected=sum(1 for j in own if not j.accepted),
        dropped=sum(1 for j in own if j.status == "DROPPED"),
        unfinished=sum(1 for j in accepted if j.done_t is None),
        achieved_rps=len(finished_in_window) / measured_s,
        submit_rps=sum(1 for j in accepted if start + settle <= j.submitted_t <= end) / measured_s,
        latency_ms=latency,
        mean_execution_ms=statistics.fmean(executions) if executions else None,
        mean_delay_ms=statistics.fmean(delays) if delays else None,
        workers=max((h.workers for h in samples), default=None),
        queue=_queue_stats(samples, in_step),
        trend=trend,
        ended_by=window.ended_by,
        kind=window.kind,
        slo_met=slo_met,
        llm=llm,
        execution_samples_ms=executions,
        overhead_samples_ms=overheads,
        ttft_samples_ms=[t for t in (j.ttft_ms() for j in completed) if t is not None] if llm else [],
        decode_samples_ms=[
            j.latency_ms(now) - (j.ttft_ms() or 0.0) for j in completed if j.first_token_t is not None
        ]
        if llm
        else [],
        sequences_per_worker=max((h.in_progress / h.workers for h in samples if h.workers), default=None),
    )


def _queue_stats(
    samples: Sequence[HealthSample], in_system: Sequence[tuple[float, float]]
) -> dict[str, float | None]:
    queue = [h.in_queue for h in samples]
    system = [v for _, v in in_system]
    return {
        "in_queue_start": queue[0] if queue else None,
        "in_queue_end": queue[-1] if queue else None,
        "in_queue_max": max(queue) if queue else None,
        "in_queue_mean": statistics.fmean(queue) if queue else None,
        "in_system_mean": statistics.fmean(system) if system else None,
        "in_system_end": system[-1] if system else None,
    }


def judge(job: JobRecord, tokens: TokenSlo, now: float) -> bool | None:
    """Did the request meet every token threshold? None when it is unfinished and not yet late."""
    e2e = job.latency_ms(now)
    if job.status == "COMPLETED":
        return tokens.met(job.ttft_ms(), job.tpot_ms(now), e2e)
    if job.status is not None:
        return False  # failed or cut off: never good
    waiting_ttft = job.first_token_t is None and tokens.ttft_ms is not None and e2e > tokens.ttft_ms
    late = tokens.e2e_ms is not None and e2e > tokens.e2e_ms
    tpot = job.tpot_ms(now)
    slow = tokens.tpot_ms is not None and tpot is not None and tpot > tokens.tpot_ms
    late_first = tokens.ttft_ms is not None and (job.ttft_ms() or 0.0) > tokens.ttft_ms
    return False if waiting_ttft or late or slow or late_first else None


def token_figures(
    accepted: Sequence[JobRecord],
    finished: Sequence[JobRecord],
    tokens: TokenSlo,
    now: float,
    horizon: float,
    measured_s: float,
) -> dict[str, float | None]:
    """Goodput (requests/s completed inside the step that met every threshold), the share of the
    step's judged requests that met them, and the token latencies of its requests."""
    verdicts = [judge(j, tokens, now) for j in accepted if j.submitted_t <= horizon]
    judged = [v for v in verdicts if v is not None]
    good_done = [j for j in finished if judge(j, tokens, now)]
    ttfts = [t for t in (j.ttft_ms() for j in accepted if j.status == "COMPLETED") if t is not None]
    tpots = [t for t in (j.tpot_ms(now) for j in accepted if j.status == "COMPLETED") if t is not None]
    figures: dict[str, float | None] = {
        "goodput_rps": len(good_done) / measured_s,
        "good_share": sum(judged) / len(judged) if judged else None,
        "judged": float(len(judged)),
        "output_tokens_per_s": sum(j.tokens for j in finished) / measured_s,
    }
    for name, values in (("ttft", ttfts), ("tpot", tpots)):
        for pct in (50, 95, 99):
            figures[f"{name}_p{pct}_ms"] = percentile(values, pct)
    return figures

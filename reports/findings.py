"""Match what the run shows to the troubleshooting table of the source document.

RunPod's "Endpoint operations" page (https://docs.runpod.io/serverless/endpoints/operations),
"Troubleshooting": Issue | Possible Causes | Solutions. Each row is checked
against the data; a row the data cannot speak to says so instead of claiming all is well.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from reports.folder import RunFolder

QUEUE_GROWTH_FACTOR = 2.0
"""Queue depth in the last third of the run this many times the first third (and > 0) = stuck."""
DELAY_OVER_EXECUTION = 3.0
"""p95 queue delay this many times p95 execution (and over 1 s) = jobs wait more than they run."""

State = Literal["seen", "not seen", "cannot tell"]


@dataclass(frozen=True)
class Finding:
    issue: str
    causes: str
    remedy: str
    state: State
    evidence: list[str] = field(default_factory=list)


TABLE = (
    (
        "Job stuck in queue",
        "No available workers, max workers limit reached",
        "Increase max workers, check endpoint health",
    ),
    (
        "Timeout errors",
        "Job takes longer than execution timeout",
        "Increase timeout in job policy, optimize job processing",
    ),
    (
        "Failed jobs",
        "Worker errors, input validation issues",
        "Check logs, verify input format, retry with fixed input",
    ),
    (
        "Rate limiting",
        "Too many requests in short time",
        "Implement backoff strategy, batch requests when possible",
    ),
    (
        "Missing results",
        "Results expired",
        "Retrieve results within expiration window (30 min for async, 1 min for sync)",
    ),
)


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.3g}"


def _s(count: float) -> str:
    return "" if count == 1 else "s"


def _stuck(run: RunFolder, jobs: Mapping[str, float]) -> tuple[State, list[str]]:
    evidence: list[str] = []
    known = False
    health = run.health
    if health is not None and len(health) >= 3 and health["in_queue"].notna().any():
        known = True
        third = max(len(health) // 3, 1)
        first, last = health["in_queue"].iloc[:third].mean(), health["in_queue"].iloc[-third:].mean()
        if last > 0 and last >= QUEUE_GROWTH_FACTOR * max(first, 0.5):
            evidence.append(
                f"queue depth grew from {first:,.1f} to {last:,.1f} jobs on average (first vs last third of /health samples)"
            )
            idle = health["idle"].iloc[-third:].mean() if health["idle"].notna().any() else None
            if idle is not None and idle < 0.5:
                evidence.append(f"no idle workers while the queue grew (mean idle {idle:.1f})")
            throttled = health["throttled"].iloc[-third:].mean() if health["throttled"].notna().any() else 0.0
            if throttled and throttled > 0:
                evidence.append(f"{throttled:.1f} throttled workers on average at the end")
    delay, execution = jobs.get("delay_p95_ms"), jobs.get("execution_p95_ms")
    if delay is not None:
        known = True
        if delay > 1000 and delay > DELAY_OVER_EXECUTION * (execution or 0.0):
            evidence.append(f"p95 queue delay {_fmt(delay)} ms vs p95 execution {_fmt(execution or 0.0)} ms")
    return ("seen" if evidence else "not seen" if known else "cannot tell"), evidence


def _timeouts(rows: Sequence[Mapping[str, Any]], jobs: Mapping[str, float]) -> tuple[State, list[str]]:
    evidence = [
        f"{r['op']}: {_fmt(r['timeouts'])} request{_s(r['timeouts'])} timed out"
        for r in rows
        if r["op"] != "all" and r.get("timeouts")
    ]
    if jobs.get("timed_out"):
        evidence.append(f"{_fmt(jobs['timed_out'])} job{_s(jobs['timed_out'])} ended TIMED_OUT")
    known = bool(rows) or "submitted" in jobs
    return ("seen" if evidence else "not seen" if known else "cannot tell"), evidence


def _failed(rows: Sequence[Mapping[str, Any]], jobs: Mapping[str, float]) -> tuple[State, list[str]]:
    evidence: list[str] = []
    if jobs.get("failed"):
        share = jobs.get("failed_share")
        evidence.append(
            f"{_fmt(jobs['failed'])} job{_s(jobs['failed'])} FAILED"
            + (f" ({share:.2%} of submitted)" if share is not None else "")
        )
    for row in rows:
        exact = sorted((c, n) for c, n in (row.get("status_codes") or {}).items() if c.startswith("5") and n)
        # The exact codes (summary.json) first: the interval classes may miss the run's last second.
        five = sum(n for _, n in exact) or (row.get("status_classes") or {}).get("5xx")
        if row["op"] != "all" and five:
            detail = f" ({', '.join(f'{n:,.0f} × {c}' for c, n in exact)})" if exact else ""
            evidence.append(f"{row['op']}: {_fmt(five)} response{_s(five)} with status 5xx{detail}")
    known = bool(rows) or "submitted" in jobs
    return ("seen" if evidence else "not seen" if known else "cannot tell"), evidence


def _rate_limited(run: RunFolder, rows: Sequence[Mapping[str, Any]]) -> tuple[State, list[str]]:
    evidence = [
        f"{r['op']}: {_fmt(r['rate_limited'])} response{_s(r['rate_limited'])} 429 ({r.get('rate_limited_share', 0.0):.2%} of requests)"
        for r in rows
        if r["op"] != "all" and r.get("rate_limited")
    ]
    for op, limit in ((run.limits or {}).get("operations") or {}).items():
        if isinstance(limit, dict) and isinstance(limit.get("limit"), (int, float)):
            evidence.append(
                f"limits run measured {op}: {_fmt(limit['limit'])} per {limit.get('window_s', '?')} s"
            )
    known = bool(rows) or run.limits is not None
    return ("seen" if evidence else "not seen" if known else "cannot tell"), evidence


def _missing(rows: Sequence[Mapping[str, Any]]) -> tuple[State, list[str]]:
    evidence = []
    for row in rows:
        if row["op"] in ("status", "status_sync", "stream"):  # the operations that fetch results
            missing = (row.get("status_codes") or {}).get("404")
            if missing:
                evidence.append(
                    f"{row['op']}: {_fmt(missing)} response{_s(missing)} 404 (job id no longer known)"
                )
    known = any("status_codes" in r for r in rows)
    return ("seen" if evidence else "not seen" if known else "cannot tell"), evidence


def findings(run: RunFolder, rows: Sequence[Mapping[str, Any]], jobs: Mapping[str, float]) -> list[Finding]:
    """One finding per troubleshooting row, seen ones first."""
    checks = (
        _stuck(run, jobs),
        _timeouts(rows, jobs),
        _failed(rows, jobs),
        _rate_limited(run, rows),
        _missing(rows),
    )
    result = [
        Finding(issue, causes, remedy, state, evidence)
        for (issue, causes, remedy), (state, evidence) in zip(TABLE, checks, strict=True)
    ]
    order = {"seen": 0, "cannot tell": 1, "not seen": 2}
    return sorted(result, key=lambda f: order[f.state])

"""Numbers of a run: the per-operation table and the flat metric map that thresholds read.

Definitions (reports/README.md): `failures` counts every request that did not succeed (429s and
timeouts included); `errors = failures - rate_limited`; `error_rate = errors / requests`;
`rate_limited_share = rate_limited / requests`; `timeout_rate = timeouts / requests`.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pandas as pd

from contract.states import FINAL_COUNT_KEYS
from reports.folder import RunFolder
from reports.hdr import Distribution, distribution, distribution_from_values

PERCENTILE_FIELDS = {"p50_ms": 50.0, "p90_ms": 90.0, "p95_ms": 95.0, "p99_ms": 99.0, "p999_ms": 99.9}
COUNT_FIELDS = ("requests", "failures", "rate_limited", "timeouts", "late_sends", "dropped_sends")
LATENCY_FIELDS = (*PERCENTILE_FIELDS, "max_ms")
TOTAL = "all"

Row = dict[str, Any]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return None if math.isnan(float(value)) else float(value)


def _parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def run_duration_s(run: RunFolder) -> float | None:
    """Wall time of the run: manifest start/end, else the span of the interval rows."""
    manifest = run.manifest or {}
    start, end = _parse_time(manifest.get("started")), _parse_time(manifest.get("ended"))
    if start is not None and end is not None and end >= start:
        return (end - start).total_seconds()
    if run.intervals is not None and len(run.intervals):
        return float(run.intervals["t"].max() - run.intervals["t"].min() + 1.0)
    return None


def _interval_span_s(intervals: pd.DataFrame) -> float:
    return float(intervals["t"].max() - intervals["t"].min() + 1.0) if len(intervals) else 0.0


def _from_intervals(rows: pd.DataFrame, span_s: float) -> Row:
    """Counts and rates of one operation (or all) from its 1-second interval rows."""
    row: Row = {field: float(rows[field].sum()) for field in COUNT_FIELDS if field in rows}
    if span_s > 0:
        row["achieved_rps"] = row["requests"] / span_s
        if rows["offered"].notna().any():
            row["offered_rps"] = float(rows["offered"].sum()) / span_s
    if rows["max_ms"].notna().any():
        row["max_ms"] = float(rows["max_ms"].max())
    status = {
        "2xx": "status_2xx",
        "4xx": "status_4xx",
        "429": "status_429",
        "5xx": "status_5xx",
        "other": "status_other",
    }
    row["status_classes"] = {k: int(rows[c].sum()) for k, c in status.items() if rows[c].notna().any()}
    return row


def _from_distribution(dist: Distribution | None, prefix: str = "") -> Row:
    if dist is None:
        return {}
    row: Row = {f"{prefix}{field}": dist.at(p) for field, p in PERCENTILE_FIELDS.items()}
    row[f"{prefix}max_ms"] = dist.max_ms
    return row


def _no_reply(row: Row) -> float | None:
    """Requests that got no HTTP status at all: `status_codes["0"]`, else intervals' `status_other`
    (which also holds the rare 1xx/3xx), else unknown."""
    codes = row.get("status_codes")
    if isinstance(codes, dict):
        return float(codes.get("0", 0))
    other = (row.get("status_classes") or {}).get("other")
    return float(other) if other is not None else None


def _derive(row: Row) -> Row:
    requests = _number(row.get("requests"))
    failures = _number(row.get("failures"))
    limited = _number(row.get("rate_limited")) or 0.0
    if failures is not None:
        row["errors"] = max(failures - limited, 0.0)
    no_reply = _no_reply(row)
    if no_reply is not None:
        # No status and no timeout: refused or dropped connections (a flaky network, a target gone).
        row["no_reply"] = no_reply
        row["connection_errors"] = max(no_reply - (_number(row.get("timeouts")) or 0.0), 0.0)
    if requests:
        if failures is not None:
            row["error_rate"] = row["errors"] / requests
            row["failure_rate"] = failures / requests
        row["rate_limited_share"] = limited / requests
        if _number(row.get("timeouts")) is not None:
            row["timeout_rate"] = float(row["timeouts"]) / requests
        if "connection_errors" in row:
            row["connection_error_rate"] = row["connection_errors"] / requests
    return row


def operation_rows(run: RunFolder) -> list[Row]:
    """One row per operation plus the `all` row; summary.json first, intervals and histograms fill gaps."""
    summary_ops: dict[str, Any] = {
        **((run.summary or {}).get("follow_ups") or {}),  # `status_follow_up`: polls, reads
        **((run.summary or {}).get("operations") or {}),
    }
    summary_total: dict[str, Any] = (run.summary or {}).get("total", {}) or {}
    intervals = run.intervals
    span = _interval_span_s(intervals) if intervals is not None else 0.0
    rows: list[Row] = []
    for op in [*run.operations(), TOTAL]:
        row: Row = {"op": op}
        if intervals is not None:
            part = intervals if op == TOTAL else intervals[intervals["op"] == op]
            if len(part):
                row.update(_from_intervals(part, span))
        if run.histograms is not None:
            latency = run.histograms.combined("latency") if op == TOTAL else run.histograms.get(op, "latency")
            corrected = (
                run.histograms.combined("corrected_latency")
                if op == TOTAL
                else run.histograms.get(op, "corrected_latency")
            )
            row.update(_from_distribution(distribution(latency) if latency else None))
            row.update(_from_distribution(distribution(corrected) if corrected else None, "corrected_"))
        source = summary_total if op == TOTAL else summary_ops.get(op, {})
        if isinstance(source, dict):
            for key, value in source.items():
                number = _number(value)
                if number is not None:
                    row[key] = number
            if isinstance(source.get("status_codes"), dict):
                row["status_codes"] = {
                    str(k): int(v) for k, v in source["status_codes"].items() if _number(v) is not None
                }
        rows.append(_derive(row))
    return rows if len(rows) > 1 else []


def job_metrics(run: RunFolder) -> Row:
    """Job lifecycle counts and percentiles: summary.json `jobs`, else jobs.csv."""
    jobs = (run.summary or {}).get("jobs")
    row: Row = {}
    if isinstance(jobs, dict):
        for key in (
            "submitted",
            "completed",
            "failed",
            "cancelled",
            "timed_out",
            "unfinished",
            "polls_per_job_mean",
        ):
            if _number(jobs.get(key)) is not None:
                row[key] = float(jobs[key])
        for name, short in (
            ("delay_time_ms", "delay"),
            ("execution_time_ms", "execution"),
            ("end_to_end_ms", "end_to_end"),
            ("first_chunk_ms", "first_chunk"),
            ("chunk_gap_ms", "chunk_gap"),
        ):
            dist = jobs.get(name)
            if isinstance(dist, dict):
                for pct, value in dist.items():
                    if _number(value) is not None:
                        row[f"{short}_{pct}_ms"] = float(value)
    elif run.jobs is not None and len(run.jobs):
        statuses = run.jobs["final_status"].astype(str).str.upper().value_counts()
        row["submitted"] = float(len(run.jobs))
        for status, key in FINAL_COUNT_KEYS.items():
            row[key] = float(statuses.get(status, 0))
    _fill_job_percentiles(run, row)
    submitted = row.get("submitted")
    if submitted:
        for key in ("completed", "failed", "cancelled", "timed_out", "unfinished"):
            if key in row:
                row[f"{key}_share"] = row[key] / submitted
    return row


def _fill_job_percentiles(run: RunFolder, row: Row) -> None:
    """Percentiles the summary lacks: from the merged histograms (exact), else from jobs.csv (a sample)."""
    for metric, column, short in (
        ("delay_time", "delay_time_ms", "delay"),
        ("execution_time", "execution_time_ms", "execution"),
        ("end_to_end", "end_to_end_ms", "end_to_end"),
    ):
        if f"{short}_p95_ms" in row:
            continue
        histogram = run.histograms.combined(metric) if run.histograms is not None else None
        dist = distribution(histogram) if histogram is not None else None
        if dist is None and run.jobs is not None and column in run.jobs:
            dist = distribution_from_values(run.jobs[column].dropna().tolist())
        if dist is not None:
            for pct in (50, 95, 99):
                row[f"{short}_p{pct}_ms"] = dist.at(float(pct))
            row[f"{short}_max_ms"] = dist.max_ms
    if "polls_per_job_mean" not in row and run.jobs is not None and run.jobs["polls"].notna().any():
        row["polls_per_job_mean"] = float(run.jobs["polls"].mean())


def conformance_counts(run: RunFolder) -> Row:
    """Claim outcomes counted from the claims list (the summary block is only a fallback)."""
    if run.conformance is None:
        return {}
    claims = run.conformance.get("claims") or []
    outcomes = pd.Series([str(c.get("outcome", "")) for c in claims if isinstance(c, dict)], dtype=object)
    counts = outcomes.value_counts().to_dict() if len(outcomes) else {}
    summary = run.conformance.get("summary") or {}
    row: Row = {}
    for outcome, key in (
        ("passed", "passed"),
        ("violated", "violations"),
        ("recorded", "recorded"),
        ("harness_error", "harness_errors"),
        ("skipped", "skipped"),
        ("uncovered", "uncovered"),
    ):
        fallback = summary.get("violated" if key == "violations" else key, 0) if not claims else 0
        row[key] = float(counts.get(outcome, _number(fallback) or 0.0))
    listed = summary.get("uncovered_claims")
    if isinstance(listed, list):
        row["uncovered"] = max(row["uncovered"], float(len(listed)))
    row["claims"] = float(len(claims))
    return row


def metric_values(run: RunFolder, rows: list[Row] | None = None, jobs: Row | None = None) -> dict[str, float]:
    """Every number a threshold rule can name, keyed `scope.metric` (e.g. `run.p95_ms`)."""
    values: dict[str, float] = {}
    for row in operation_rows(run) if rows is None else rows:
        for key, value in row.items():
            number = _number(value)
            if number is not None:
                values[f"{row['op']}.{key}"] = number
    for key, value in (job_metrics(run) if jobs is None else jobs).items():
        values[f"jobs.{key}"] = value
    for key, value in conformance_counts(run).items():
        values[f"conformance.{key}"] = value
    for key in ("max_sustainable_rps", "knee_rps", "recommended_workers_min", "recommended_workers_max"):
        number = _number((run.capacity or {}).get(key))
        if number is not None:
            values[f"capacity.{key}"] = number
    duration = run_duration_s(run)
    if duration is not None:
        values["meta.duration_s"] = duration
    return values

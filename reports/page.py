"""Result folder in, `report.html` out: gather numbers, draw charts, fill the template."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from reports import charts_dist, charts_time, sections
from reports.errors import ReportInputError
from reports.findings import findings
from reports.folder import RunFolder, read_folder
from reports.hdr import Distribution, distribution, distribution_from_values
from reports.llm_section import llm_facts
from reports.metrics import conformance_counts, job_metrics, metric_values, operation_rows
from reports.redact import redact_text
from reports.simulation_section import simulation_facts
from reports.templating import render
from reports.thresholds import Outcome, RuleResult, Thresholds, evaluate, load_thresholds

LIFECYCLE = (
    ("delay_time", "delay_time_ms", "queue delay"),
    ("execution_time", "execution_time_ms", "execution"),
    ("end_to_end", "end_to_end_ms", "end to end"),
)


def data_uri(svg: bytes) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def verdict(
    results: list[RuleResult], conformance: dict[str, float], interrupted: bool, reason: str | None = None
) -> dict[str, Any]:
    """The first line of the page: fail, incomplete (cut short, nothing broken), pass, or nothing to judge.

    A run that was cut short never shows PASS: its thresholds judged only the part that ran.
    """
    broken = [r for r in results if r.breached]
    violations = int(conformance.get("violations", 0))
    parts = []
    if results:
        parts.append(
            f"{len(broken)} of {len(results)} thresholds broken"
            if broken
            else f"all {len(results)} thresholds met"
        )
    else:
        parts.append("no thresholds given")
    if conformance:
        parts.append(f"{violations} conformance violation{'s' if violations != 1 else ''}")
        if conformance.get("harness_errors"):
            parts.append(f"{int(conformance['harness_errors'])} harness errors")
    if interrupted:
        parts.append(f"run was cut short: {reason}" if reason else "run was cut short")
    if broken or violations:
        state = "fail"
    elif interrupted:
        state = "incomplete"
    elif results or conformance:
        state = "pass"
    else:
        state = "info"
    labels = {"fail": "FAIL", "incomplete": "INCOMPLETE", "pass": "PASS", "info": "REPORT"}
    return {"state": state, "label": labels[state], "text": " · ".join(parts)}


def interruption(run: RunFolder) -> tuple[bool, str | None]:
    """Was the run cut short (manifest or summary says so), and why, when the producer said."""
    interrupted, reason = False, None
    for source in (run.manifest or {}, run.summary or {}):
        interrupted = interrupted or bool(source.get("interrupted"))
        if reason is None and source.get("interrupted_reason"):
            reason = redact_text(str(source["interrupted_reason"]))[:300]
    return interrupted, reason if interrupted else None


def lifecycle_curves(run: RunFolder) -> dict[str, Distribution | None]:
    """Queue delay, execution and end-to-end distributions: histograms first, jobs.csv second."""
    curves: dict[str, Distribution | None] = {}
    for metric, column, label in LIFECYCLE:
        combined = run.histograms.combined(metric) if run.histograms else None
        if combined is not None:
            curves[label] = distribution(combined)
        elif run.jobs is not None and len(run.jobs):
            curves[label] = distribution_from_values(run.jobs[column].dropna().tolist())
    return {k: v for k, v in curves.items() if v is not None}


def load_charts(run: RunFolder, ops: list[str], jobs: dict[str, float]) -> list[dict[str, str]]:
    charts: list[dict[str, str]] = []

    def add(title: str, svg: bytes, note: str = "") -> None:
        charts.append({"title": title, "src": data_uri(svg), "note": note})

    if run.intervals is not None and len(run.intervals):
        add("Throughput per operation", charts_time.throughput_chart(run.intervals, ops))
        add(
            "Latency percentile bands per operation",
            charts_time.latency_bands_chart(run.intervals, ops),
            "Bands: p50–p90, p90–p99, p99–max of each 1-second interval; dashed line p95.",
        )
    if run.histograms is not None:
        for metric, label in (
            ("latency", "service time"),
            ("corrected_latency", "corrected for coordinated omission"),
        ):
            curves = {op: distribution(h) for op in ops if (h := run.histograms.get(op, metric)) is not None}
            if curves:
                add(
                    f"Latency distribution, {label}",
                    charts_dist.percentile_chart(curves, f"Latency distribution ({label})"),
                    "HDR percentile plot: each step right adds a nine.",
                )
    if run.intervals is not None and len(run.intervals):
        add("Status codes and 429s", charts_time.status_chart(run.intervals, ops))
        add("Offered vs achieved rate", charts_time.offered_achieved_chart(run.intervals))
    curves = lifecycle_curves(run)
    if curves:
        add(
            "Job lifecycle",
            charts_dist.percentile_chart(curves, "Job lifecycle: queue delay, execution, end to end (ms)"),
        )
    elif any(k.endswith("_ms") for k in jobs):
        add("Job lifecycle", charts_dist.job_summary_chart(jobs))
    if run.jobs is not None and len(run.jobs):
        add(
            "Job lifecycle over time",
            charts_time.job_timeline_chart(run.jobs),
            "One dot per sampled job (jobs.csv) at its submit time; a rising red band is a queue that does not drain.",
        )
    if run.health is not None and len(run.health):
        add(
            "Queue depth and workers",
            charts_time.health_chart(run.health),
            "Workers stacked by disjoint state (idle, initializing, running, throttled, unhealthy): the stack is "
            "the worker count. /health's ready is not stacked: on the real service it counts the idle workers again.",
        )
    return charts


def _limits_cut_short(run: RunFolder) -> str | None:
    """Why the rate-limit discovery stopped early (limits.json `complete: false`), else None."""
    limits = run.limits or {}
    if limits.get("complete") is not False:
        return None
    reason = limits.get("interrupted")
    return redact_text(str(reason))[:300] if isinstance(reason, str) and reason else "interrupted"


def report_context(
    run: RunFolder, results: list[RuleResult], rows: list[dict[str, Any]], jobs: dict[str, float]
) -> dict[str, Any]:
    conformance = conformance_counts(run)
    ops = [r["op"] for r in rows if r["op"] != "all"]
    present, missing = sections.present_parts(run)
    limits = sections.limit_rows(run)
    for row in limits:
        window = row["window_s"] if isinstance(row["window_s"], (int, float)) else None
        row["chart"] = (
            data_uri(charts_dist.limit_probe_chart(row["op"], row["timeline"], window))
            if row["timeline"]
            else ""
        )
    capacity = sections.capacity_facts(run) if run.capacity is not None else None
    if capacity is not None and capacity["steps"]:
        knee = run.capacity.get("knee_rps") if run.capacity else None
        capacity["chart"] = data_uri(
            charts_dist.capacity_chart(capacity["steps"], knee if isinstance(knee, (int, float)) else None)
        )
        if capacity["goodput"]:
            capacity["goodput_chart"] = data_uri(
                charts_dist.goodput_chart(
                    capacity["goodput"], knee if isinstance(knee, (int, float)) else None
                )
            )
    interrupted, reason = interruption(run)
    return {
        "title": f"podbench report: {run.path.name}",
        "verdict": verdict(results, conformance, interrupted, reason),
        "interrupted": interrupted,
        "interrupted_reason": reason,
        "facts": sections.facts(run),
        "warnings": sections.generator_warnings(run),
        "notes": run.notes,
        "present": present,
        "missing": missing,
        "thresholds": results,
        "rows": rows,
        "status_codes": sections.status_code_table(rows),
        "flows": sections.flow_rows(run),
        "jobs": jobs,
        "charts": load_charts(run, ops, jobs) if run.has_load else [],
        "findings": findings(run, rows, jobs) if (run.has_load or run.limits is not None) else [],
        "limits": limits,
        "limits_cut_short": _limits_cut_short(run),
        "capacity": capacity,
        "simulation": simulation_facts(run, data_uri),
        "llm": llm_facts(run, data_uri) if run.has_load else None,
        "conformance": conformance,
        "claims": sections.conformance_rows(run),
        "worker": sections.conformance_worker(run),
        "worker_file": sections.worker_section(run),
        "uncovered": (run.conformance or {}).get("summary", {}).get("uncovered_claims") or [],
    }


def build_report(folder: str | Path, thresholds: str | Path | Thresholds | None = None) -> Outcome:
    """Write `folder/report.html` and return where it is and how each threshold fared."""
    rules = load_thresholds(thresholds) if isinstance(thresholds, (str, Path)) else thresholds
    run = read_folder(folder)
    rows, jobs = operation_rows(run), job_metrics(run)
    results = evaluate(rules, metric_values(run, rows, jobs)) if rules is not None else []
    html = render("report.html.j2", report_context(run, results, rows, jobs))
    out = run.path / "report.html"
    try:
        out.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise ReportInputError(f"cannot write {out}: {exc.strerror or exc}") from None
    return Outcome(out, results)

"""Two result folders in, `comparison.html` (+ `comparison.json`) out: side by side, overlaid, judged.

A change counts only when it is larger than the noise both runs show in their own 1-second
intervals (reports/noise.py); thresholds add the pass/fail rules on top (reports/thresholds.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from reports import charts_dist, charts_time, sections
from reports.errors import ReportInputError
from reports.folder import RunFolder, read_folder
from reports.hdr import distribution
from reports.metrics import TOTAL, conformance_counts, job_metrics, metric_values, operation_rows
from reports.noise import change_noise, interval_series
from reports.page import data_uri, interruption
from reports.templating import render
from reports.thresholds import Outcome, RuleResult, Thresholds, evaluate_change, load_thresholds, worsening

COMPARED = (
    ("requests", "count"),
    ("achieved_rps", "rate"),
    ("p50_ms", "ms"),
    ("p95_ms", "ms"),
    ("p99_ms", "ms"),
    ("p999_ms", "ms"),
    ("max_ms", "ms"),
    ("error_rate", "share"),
    ("rate_limited_share", "share"),
    ("timeout_rate", "share"),
    ("connection_errors", "count"),
    ("connection_error_rate", "share"),
)
NOT_JUDGED = frozenset(("requests", "connection_errors"))
"""A different count follows from a different duration or profile; it is shown, not judged (its rate is)."""
LABELS = {
    "connection_errors": "no reply: connection errors",
    "connection_error_rate": "no reply: connection error rate",
}
"""How the report's operations table names them ("No reply": no HTTP status and no timeout)."""


def _verdict(metric: str, base: float, candidate: float, noise: float | None) -> str:
    if metric in NOT_JUDGED:
        return "not judged"
    if base == candidate:
        return "same"
    worse = worsening(metric, base, candidate)
    if noise is None:
        return "no noise estimate"
    if abs(worse) <= noise:
        return "within noise"
    return "worse" if worse > 0 else "better"


def compared_rows(
    base: RunFolder, candidate: RunFolder, base_values: dict[str, float], cand_values: dict[str, float]
) -> list[dict[str, Any]]:
    """One row per (operation, metric) either run has, with change, noise and verdict."""
    ops = list(dict.fromkeys([*base.operations(), *candidate.operations()]))
    rows: list[dict[str, Any]] = []
    for op in [*ops, TOTAL]:
        for metric, kind in COMPARED:
            key = f"{op}.{metric}"
            b, c = base_values.get(key), cand_values.get(key)
            if b is None and c is None:
                continue
            noise = change_noise(interval_series(base, op, metric), interval_series(candidate, op, metric))
            row: dict[str, Any] = {
                "op": op,
                "metric": metric,
                "label": LABELS.get(metric, metric),
                "kind": kind,
                "base": b,
                "candidate": c,
                "noise": noise,
            }
            if b is not None and c is not None:
                row["change"] = c - b
                row["change_pct"] = 100.0 * (c - b) / abs(b) if b else None
                row["verdict"] = _verdict(metric, b, c, noise)
            else:
                row["verdict"] = "only in " + ("base" if c is None else "candidate")
            rows.append(row)
    return rows


def _total_series(run: RunFolder) -> pd.Series | None:
    return interval_series(run, TOTAL, "achieved_rps")


def comparison_charts(base: RunFolder, candidate: RunFolder) -> list[dict[str, str]]:
    charts = [
        {
            "title": "Throughput, all operations",
            "src": data_uri(
                charts_time.overlay_chart(
                    {"base": _total_series(base), "candidate": _total_series(candidate)},
                    "Throughput, all operations (req/s)",
                    "req/s",
                )
            ),
        }
    ]
    shared = [op for op in base.operations() if op in candidate.operations()]
    for op in shared:
        series = {
            "base": interval_series(base, op, "p95_ms"),
            "candidate": interval_series(candidate, op, "p95_ms"),
        }
        if any(s is not None and len(s) for s in series.values()):
            charts.append(
                {
                    "title": f"{op}: p95 over time",
                    "src": data_uri(
                        charts_time.overlay_chart(
                            series, f"{op}: p95 latency per interval (ms)", "ms", log=True
                        )
                    ),
                }
            )
        if base.histograms is not None and candidate.histograms is not None:
            b, c = base.histograms.get(op, "latency"), candidate.histograms.get(op, "latency")
            if b is not None and c is not None:
                curves = {f"{op} base": distribution(b), f"{op} candidate": distribution(c)}
                charts.append(
                    {
                        "title": f"{op}: latency distribution",
                        "src": data_uri(
                            charts_dist.percentile_chart(
                                curves, f"{op}: latency distribution, base vs candidate"
                            )
                        ),
                    }
                )
    return charts


def changed_claims(base: RunFolder, candidate: RunFolder) -> list[dict[str, str]]:
    """Claims whose outcome differs between the runs, violations first."""
    before = {r["id"]: r["outcome"] for r in sections.conformance_rows(base)}
    after = {r["id"]: r["outcome"] for r in sections.conformance_rows(candidate)}
    changes = [
        {"id": k, "base": before.get(k, "absent"), "candidate": after.get(k, "absent")}
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    ]
    return sorted(changes, key=lambda r: (r["candidate"] != "violated", r["id"]))


def _verdict_line(
    results: list[RuleResult], rows: list[dict[str, Any]], cut_short: list[str]
) -> dict[str, str]:
    """FAIL on a broken threshold; INCOMPLETE when either run was cut short (never PASS then)."""
    broken = [r for r in results if r.breached]
    worse = sum(1 for r in rows if r.get("verdict") == "worse")
    better = sum(1 for r in rows if r.get("verdict") == "better")
    parts = [
        f"{len(broken)} of {len(results)} thresholds broken"
        if broken
        else (f"all {len(results)} thresholds met" if results else "no thresholds given"),
        f"{worse} metrics worse beyond noise",
        f"{better} better",
        *cut_short,
    ]
    state = "fail" if broken else "incomplete" if cut_short else ("pass" if results else "info")
    return {
        "state": state,
        "label": {"fail": "FAIL", "incomplete": "INCOMPLETE", "pass": "PASS", "info": "COMPARISON"}[state],
        "text": " · ".join(parts),
    }


def _side(label: str, run: RunFolder) -> dict[str, Any]:
    interrupted, reason = interruption(run)
    return {
        "name": str(run.path),
        "facts": sections.facts(run),
        "notes": run.notes,
        "interrupted": interrupted,
        "interrupted_reason": reason,
        "cut_short": (f"{label} run was cut short" + (f": {reason}" if reason else ""))
        if interrupted
        else "",
    }


def build_comparison(
    base_dir: str | Path,
    candidate_dir: str | Path,
    out_dir: str | Path,
    thresholds: str | Path | Thresholds | None = None,
) -> Outcome:
    """Write `out_dir/comparison.html` and `comparison.json`; `breached` says whether to exit 1."""
    rules = load_thresholds(thresholds) if isinstance(thresholds, (str, Path)) else thresholds
    base, candidate = read_folder(base_dir), read_folder(candidate_dir)
    base_values = metric_values(base, operation_rows(base), job_metrics(base))
    cand_values = metric_values(candidate, operation_rows(candidate), job_metrics(candidate))

    def noise_of(rule: Any) -> float | None:
        return change_noise(
            interval_series(base, rule.scope, rule.metric),
            interval_series(candidate, rule.scope, rule.metric),
        )

    results = evaluate_change(rules, base_values, cand_values, noise_of) if rules is not None else []
    rows = compared_rows(base, candidate, base_values, cand_values)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportInputError(f"cannot create {out}: {exc.strerror or exc}") from None
    sides = {"base": _side("base", base), "candidate": _side("candidate", candidate)}
    cut_short = [side["cut_short"] for side in sides.values() if side["cut_short"]]
    context = {
        "title": f"podbench comparison: {base.path.name} → {candidate.path.name}",
        "verdict": _verdict_line(results, rows, cut_short),
        **sides,
        "thresholds": results,
        "rows": rows,
        "charts": comparison_charts(base, candidate) if base.has_load and candidate.has_load else [],
        "conformance": {"base": conformance_counts(base), "candidate": conformance_counts(candidate)},
        "claims": changed_claims(base, candidate),
    }
    path = out / "comparison.html"
    path.write_text(render("compare.html.j2", context), encoding="utf-8")
    summary = {
        "base": str(base.path),
        "candidate": str(candidate.path),
        "breached": any(r.breached for r in results),
        "incomplete": bool(cut_short),
        "thresholds": [
            {"rule": r.rule.text, "status": r.status, "value": r.value, "detail": r.detail} for r in results
        ],
        "metrics": rows,
    }
    (out / "comparison.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    return Outcome(path, results)

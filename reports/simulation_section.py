"""The what-if simulation part of a report: the settings table, the charts, the recommendation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reports.charts_simulation import cost_latency_chart, timeline_chart
from reports.folder import RunFolder


def simulation_facts(run: RunFolder, data_uri: Callable[[bytes], str]) -> dict[str, Any] | None:
    data = run.simulation
    if data is None:
        return None
    entries = [e for e in data.get("settings") or [] if isinstance(e, dict)]
    rec = data.get("recommendation") or {}
    chosen = rec.get("setting") if isinstance(rec.get("setting"), int) else None
    trace = data.get("trace") or {}
    rows = []
    for index, e in enumerate(entries):
        endpoint = e.get("endpoint") or {}
        raw_cost = e.get("cost")
        cost: dict[str, Any] = raw_cost if isinstance(raw_cost, dict) else {}
        rows.append(
            {
                "index": index,
                "chosen": index == chosen,
                "setting": ", ".join(
                    f"{k} {endpoint[k]}"
                    for k in ("workers_min", "workers_max", "idle_timeout_s", "scaler", "scaler_value")
                    if k in endpoint
                ),
                "p50": (e.get("end_to_end_ms") or {}).get("p50"),
                "p95": (e.get("end_to_end_ms") or {}).get("p95"),
                "p99": (e.get("end_to_end_ms") or {}).get("p99"),
                "delay_p95": (e.get("delay_ms") or {}).get("p95"),
                "ttft_p95": (e.get("ttft_ms") or {}).get("p95"),
                "sequences": (endpoint.get("llm") or {}).get("max_concurrency"),
                "cold_starts": e.get("cold_starts"),
                "max_in_queue": e.get("max_in_queue"),
                "worker_seconds": (e.get("worker_seconds") or {}).get("total"),
                "per_day": cost.get("per_day"),
                "per_1k_jobs": cost.get("per_1k_jobs"),
                "slo_met": e.get("slo_met"),
                "pareto": e.get("pareto"),
            }
        )
    facts = [
        ("Trace", str(trace.get("source", "?"))),
        ("Jobs", f"{trace.get('jobs', '?')} over {trace.get('duration_s', '?')} s"),
        ("Objective", str(data.get("slo") or "none (cheapest overall)")),
        (
            "Prices",
            "none given: ranked by billed worker-seconds"
            if not data.get("pricing")
            else str(data["pricing"]),
        ),
        ("Billing rules", str(data.get("billing_rules", ""))),
    ]
    llm = data.get("llm")
    if isinstance(llm, dict):  # generation requests: what each job asked for
        facts.insert(2, ("Requests", ", ".join(f"{k} {v}" for k, v in llm.items())))
    timeline = data.get("timeline")
    return {
        "facts": facts,
        "reason": rec.get("reason"),
        "rows": rows,
        "priced": any(r["per_day"] is not None for r in rows),
        "llm": any(r["ttft_p95"] is not None for r in rows),
        "chart": data_uri(cost_latency_chart(entries, chosen)),
        "timeline_chart": data_uri(timeline_chart(timeline)) if isinstance(timeline, dict) else None,
    }

"""The LLM part of a report: token latencies per flow, goodput, throughput and batches, and why
the time to first token grew when it did."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from reports.charts_dist import percentile_chart
from reports.charts_llm import batch_chart, tokens_chart
from reports.folder import RunFolder
from reports.hdr import distribution

METRICS = (("ttft_ms", "TTFT"), ("tpot_ms", "TPOT"), ("itl_ms", "ITL"), ("end_to_end_ms", "end to end"))
QUEUE_FACTOR = 2.0
"""TTFT p95 this many times its p50 while requests waited in the queue: the wait is in the TTFT."""


def llm_facts(run: RunFolder, data_uri: Callable[[bytes], str]) -> dict[str, Any] | None:
    llm = (run.summary or {}).get("llm")
    if not isinstance(llm, dict):
        return None
    raw_flows = llm.get("flows")
    flows: dict[str, Any] = raw_flows if isinstance(raw_flows, dict) else {}
    rows = [_row(name, block) for name, block in flows.items() if isinstance(block, dict)]
    rows.append(_row("all", llm))
    charts = [{"title": "Output tokens per second", "src": data_uri(tokens_chart(llm))}]
    for metric, label in (("llm_ttft", "Time to first token"), ("llm_itl", "Inter-token latency")):
        curves = {}
        for name in flows:
            hist = run.histograms.get(f"llm:{name}", metric) if run.histograms else None
            if hist is not None:
                curves[name] = distribution(hist)
        if curves:
            charts.append({"title": label, "src": data_uri(percentile_chart(curves, f"{label} by flow"))})
    batches = read_batches(run)
    if batches is not None:
        charts.append({"title": "Batch occupancy", "src": data_uri(batch_chart(batches))})
    slo = llm.get("slo") or {}
    return {
        "rows": rows,
        "slo": ", ".join(f"{k.replace('_ms', '')} ≤ {v:g} ms" for k, v in slo.items()) or "none given",
        "charts": charts,
        "why": queue_explanation(run, llm, batches),
    }


def _row(name: str, block: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"flow": name}
    for metric, _ in METRICS:
        values = block.get(metric) or {}
        row[metric] = {p: values.get(p) for p in ("p50", "p90", "p99")}
    for key in ("requests", "completed", "failed", "requests_per_s", "output_tokens_per_s", "goodput_rps"):
        row[key] = block.get(key)
    row["concurrency"] = block.get("concurrency")
    return row


def read_batches(run: RunFolder) -> pd.DataFrame | None:
    path = run.path / "batches.csv"
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        run.notes.append(f"batches.csv could not be read ({exc}); batch occupancy is left out")
        return None
    if not {"t", "worker", "batch", "max_concurrency"} <= set(frame.columns):
        run.notes.append("batches.csv lacks t, worker, batch or max_concurrency; batch occupancy is left out")
        return None
    return frame


def queue_explanation(run: RunFolder, llm: dict[str, Any], batches: pd.DataFrame | None) -> str | None:
    """A sentence when the run's TTFT holds queue time: requests waited because every batch was full."""
    ttft = llm.get("ttft_ms") or {}
    p50, p95 = ttft.get("p50"), ttft.get("p95")
    queued = 0
    if run.health is not None and "in_queue" in run.health.columns and len(run.health):
        queued = int(run.health["in_queue"].fillna(0).max())
    full = None
    if batches is not None and len(batches):
        limit = batches["max_concurrency"].max()
        full = bool((batches["batch"] >= limit).any())
    if not queued or not isinstance(p50, int | float) or not isinstance(p95, int | float) or p50 <= 0:
        return None
    if p95 < QUEUE_FACTOR * p50 and not full:
        return None
    text = (
        f"Requests waited in the queue (up to {queued} at once): time to first token includes that wait "
        f"(p95 {p95:,.0f} ms against p50 {p50:,.0f} ms)"
    )
    if full:
        text += ", because every worker's batch was full (max_concurrency sequences each)"
    return text + ". More workers or a larger batch shorten it; a larger batch slows every token."

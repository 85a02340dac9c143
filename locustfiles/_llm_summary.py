"""summary.json's `llm` section: token-level latency, throughput and goodput, per flow and overall."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hdrh.histogram import HdrHistogram

from locustfiles._llm import LLM_FLOWS, LLM_METRICS, llm_row
from locustfiles._metrics import Aggregator, value_at_percentiles
from locustfiles._plan import Plan

PERCENTILES = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0}
NAMES = {"llm_ttft": "ttft_ms", "llm_itl": "itl_ms", "llm_tpot": "tpot_ms", "llm_e2e": "end_to_end_ms"}


def _pct(hist: HdrHistogram | None) -> dict[str, float | None]:
    if hist is None or hist.get_total_count() == 0:
        return {**dict.fromkeys(PERCENTILES), "mean": None}
    values = value_at_percentiles(hist, list(PERCENTILES.values()))
    out: dict[str, float | None] = {k: round(values[p] / 1000.0, 3) for k, p in PERCENTILES.items()}
    out["mean"] = round(hist.get_mean_value() / 1000.0, 3)
    return out


def _block(agg: Aggregator, rows: list[str], duration: float) -> dict[str, Any]:
    seconds = agg.seconds()
    counts: Counter[str] = Counter()
    for row in rows:
        counts.update(agg.total(row))
    block: dict[str, Any] = {}
    for metric in LLM_METRICS:
        merged: HdrHistogram | None = None
        for row in rows:
            hist = agg.run_histogram(row, metric, seconds)
            if hist is not None:
                if merged is None:
                    merged = hist
                else:
                    merged.add(hist)
        block[NAMES[metric]] = _pct(merged)
    output, prompt = counts["llm_tokens"], counts["llm_prompt_tokens"]
    block.update(
        {
            "requests": counts["llm_requests"],
            "completed": counts["llm_completed"],
            "failed": counts["llm_failed"],
            "good": counts["llm_good"],
            "output_tokens": output,
            "prompt_tokens": prompt,
            "requests_per_s": round(counts["llm_completed"] / duration, 3),
            "output_tokens_per_s": round(output / duration, 3),
            "total_tokens_per_s": round((output + prompt) / duration, 3),
            "goodput_rps": round(counts["llm_good"] / duration, 3),
        }
    )
    return block


def llm_summary(plan: Plan, agg: Aggregator, duration: float, base: int) -> dict[str, Any] | None:
    """None when the run had no LLM flow."""
    flows = [name for name in plan.flows if name in LLM_FLOWS]
    if not flows:
        return None
    rows = [llm_row(name) for name in flows]
    timeline = []
    for s in agg.seconds():
        cells = [agg.counts.get((s, row)) for row in rows]
        tokens = sum(c["llm_tokens"] for c in cells if c)
        completed = sum(c["llm_completed"] for c in cells if c)
        good = sum(c["llm_good"] for c in cells if c)
        if tokens or completed:
            timeline.append([float(s - base), tokens, completed, good])
    return {
        "slo": dict(plan.llm_slo),
        **_block(agg, rows, duration),
        "flows": {
            name: {
                **_block(agg, [llm_row(name)], duration),
                **({"concurrency": plan.flows[name].concurrency} if plan.flows[name].concurrency else {}),
            }
            for name in flows
        },
        "timeline": timeline,
        "timeline_columns": ["t", "output_tokens", "completed", "good"],
    }

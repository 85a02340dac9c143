"""`simulation.json`: one entry per setting, the Pareto front of cost and latency, a recommendation.

Field meanings are in docs/results-format.md ("What-if simulation"). Without prices, settings are
compared by billed worker-seconds (active workers' whole window plus flex workers' rounded lives).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from emulator.simulation.billing import Pricing, cost
from emulator.simulation.ledger import TIMELINE_COLUMNS
from emulator.simulation.runner import SettingRun
from emulator.simulation.settings import shown


@dataclass(frozen=True)
class Objective:
    """The latency objective on end-to-end job latency, e.g. p95 <= 2000 ms."""

    percentile: float
    limit_ms: float
    metric: str = "end_to_end_ms"
    """Or `ttft_ms`: time to first token of generation requests (an `llm` endpoint)."""

    @property
    def key(self) -> str:
        return f"p{self.percentile:g}"

    def describe(self) -> str:
        prefix = "ttft_" if self.metric == "ttft_ms" else ""
        return f"{prefix}p{self.percentile:g}_ms<={self.limit_ms:g}"


def setting_entry(run: SettingRun, pricing: Pricing | None, objective: Objective | None) -> dict[str, Any]:
    o = run.outcome
    t = o.totals
    config = run.config
    active_s = config.workers_min * o.window_s
    flex_s = t.above_min + t.round_up
    entry: dict[str, Any] = {
        "endpoint": shown(config),
        "jobs": o.jobs,
        "completed": o.completed,
        "failed": o.failed,
        "unfinished": o.unfinished,
        "end_to_end_ms": run.end_to_end_ms,
        "delay_ms": run.delay_ms,
        **({"ttft_ms": run.ttft_ms} if run.ttft_ms is not None else {}),
        "polls_per_job_mean": round(o.polls / max(1, o.completed + o.failed), 3),
        "cold_starts": t.scale_ups,
        "max_in_queue": t.max_in_queue,
        "window_s": round(o.window_s, 3),
        "worker_seconds": {
            "total": round(t.total, 3),
            "running": round(t.running, 3),
            "idle": round(t.idle, 3),
            "initializing": round(t.initializing, 3),
        },
        "billed_seconds": {"active": round(active_s, 3), "flex": round(flex_s, 3)},
        "slo_met": None,
        "cpu_s": run.cpu_s,
    }
    if pricing is not None:
        entry["cost"] = cost(pricing, config, window_s=o.window_s, flex_s=flex_s, jobs=o.jobs)
    if objective is not None:
        measured = run.ttft_ms if objective.metric == "ttft_ms" else run.end_to_end_ms
        latency = (measured or {}).get(objective.key)
        entry["slo_met"] = latency is not None and latency <= objective.limit_ms and o.unfinished == 0
    return entry


def _price(entry: dict[str, Any]) -> float:
    if "cost" in entry:
        return float(entry["cost"]["total"])
    billed = entry["billed_seconds"]
    return float(billed["active"] + billed["flex"])


def _p95(entry: dict[str, Any]) -> float:
    value = entry["end_to_end_ms"].get("p95")
    return float("inf") if value is None or entry["unfinished"] else float(value)


def mark_pareto(entries: Sequence[dict[str, Any]]) -> None:
    """`pareto`: no other setting is at most as dear and as slow, and better in one of the two."""
    for entry in entries:
        price, p95 = _price(entry), _p95(entry)
        entry["pareto"] = not any(
            _price(o) <= price and _p95(o) <= p95 and (_price(o) < price or _p95(o) < p95)
            for o in entries
            if o is not entry
        )


def recommend(entries: Sequence[dict[str, Any]], objective: Objective | None) -> dict[str, Any]:
    measure = "cost" if entries and "cost" in entries[0] else "billed worker-seconds"
    candidates = [i for i, e in enumerate(entries) if objective is None or e["slo_met"]]
    if not candidates:
        return {
            "setting": None,
            "reason": f"no setting met {objective.describe() if objective else 'the objective'}",
        }
    best = min(candidates, key=lambda i: (_price(entries[i]), _p95(entries[i])))
    chosen = entries[best]
    if objective is not None:
        reason = f"the lowest {measure} among the {len(candidates)} settings meeting {objective.describe()}"
    else:
        reason = f"the lowest {measure} of all {len(entries)} settings (no --slo given)"
    advice = {
        "setting": best,
        "endpoint": chosen["endpoint"],
        "end_to_end_ms": chosen["end_to_end_ms"],
        "cost": chosen.get("cost"),
        "billed_seconds": chosen["billed_seconds"],
        "by": measure,
        "reason": reason,
    }
    llm = chosen["endpoint"].get("llm")
    if isinstance(llm, dict):  # generation requests: stated in workers and concurrent sequences
        workers, per_worker = chosen["endpoint"]["workers_max"], llm["max_concurrency"]
        ttft = chosen.get("ttft_ms", {}).get("p95")
        advice["ttft_ms"] = chosen.get("ttft_ms")
        advice["sequences"] = {"workers": workers, "per_worker": per_worker, "at_most": workers * per_worker}
        advice["statement"] = (
            f"{workers} worker{'' if workers == 1 else 's'} × {per_worker} sequences "
            f"(TTFT p95 {ttft} ms, end to end p95 {chosen['end_to_end_ms'].get('p95')} ms)"
        )
        advice["reason"] = f"{reason}: {advice['statement']}"
    return advice


def timeline(run: SettingRun, index: int) -> dict[str, Any]:
    return {"setting": index, "columns": list(TIMELINE_COLUMNS), "rows": run.outcome.totals.timeline}

"""capacity.json and the manifest update (format: docs/results-format.md, "Capacity run")."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from capacity.analysis import (
    find_knee,
    light_load_overhead_ms,
    measured_service,
    measured_workers,
    model_section,
)
from capacity.llm_advice import advise, knee_step, light_step, measured_sequences_per_worker
from capacity.ramp import Ramp
from capacity.runner import RunData
from capacity.slo import Slo
from capacity.steps import StepSummary, summarize
from contract import results

MAX_TIMELINE_POINTS = 2000
LATENCY_MEANING = "end-to-end job latency in ms: from sending /runsync (or /run) to seeing the final status"
LLM_LATENCY_MEANING = "end-to-end request latency in ms: from sending the chat completion to its [DONE]"
GOODPUT_MEANING = (
    "requests/s completed inside the step that met every [llm] slo threshold; a step passes when "
    "at least `percentile` % of its judged requests met them, nothing was refused and its queue did not grow"
)


def utc_iso(moment: datetime) -> str:
    return results.utc_iso(moment)


def summarize_run(data: RunData, slo: Slo) -> list[StepSummary]:
    """Final step summaries, once every job that could finish has (unfinished ones are censored)."""
    return [summarize(w, data.jobs, data.in_system, data.health, slo, data.ended_t) for w in data.windows]


def build_capacity(
    data: RunData,
    steps: Sequence[StepSummary],
    *,
    slo: Slo,
    ramp: Ramp,
    target: Mapping[str, object],
    profile: str,
    started: datetime,
    ended: datetime,
    target_rps: float | None,
    podbench_version: str,
) -> dict[str, Any]:
    knee = find_knee(steps)
    target_for_advice = target_rps if target_rps is not None else knee.knee_rps
    model, advice = model_section(steps, slo, target_for_advice)
    service = measured_service(steps)
    llm = llm_section(steps, slo, ramp, knee.knee_rps, target_for_advice) if slo.tokens else None
    payload = {
        "podbench_version": podbench_version,
        "target": dict(target),
        "profile": profile,
        "started": utc_iso(started),
        "ended": utc_iso(ended),
        "interrupted": data.interrupted,
        "slo": {
            "expression": slo.describe(),
            "percentile": slo.percentile,
            "limit_ms": slo.limit_ms,
            "latency": LLM_LATENCY_MEANING if slo.tokens else LATENCY_MEANING,
            **({"tokens": slo.tokens.as_dict(), "goodput": GOODPUT_MEANING} if slo.tokens else {}),
        },
        "submit": ramp.submit,
        "job_input": dict(ramp.llm) if ramp.is_llm else dict(ramp.input),
        "max_sustainable_rps": _round(knee.max_sustainable_rps, 2),
        "saturated": knee.saturated,
        "knee_rps": _round(knee.knee_rps, 2),
        "first_failing_rps": _round(knee.first_failing_rps, 2),
        "target_rps": _round(target_for_advice, 2),
        "target_rps_source": "--target-rps/profile" if target_rps is not None else "knee_rps",
        "slo_met_at_target": slo_met_at(target_for_advice, knee.knee_rps),
        "recommended_workers_min": advice.workers_min if advice else None,
        "recommended_workers_max": advice.workers_max if advice else None,
        "recommendation": advice.as_json() if advice else None,
        "measured": {
            "workers": measured_workers(steps),
            "mean_execution_ms": None if service is None else round(1000 * service.mean_s, 3),
            "execution_scv": None if service is None else round(service.scv, 4),
            "overhead_ms": round(light_load_overhead_ms(steps), 3),
            "jobs": len(data.jobs),
            "requests": data.requests,
            "health_errors": data.health_errors,
        },
        "steps": [step_json(s, slo) for s in steps],
        "model": model,
        "timeline": {
            "columns_health": ["t", "in_queue", "in_progress", "workers_running", "workers_idle"],
            "health": _thin(
                [
                    [round(h.t, 3), h.in_queue, h.in_progress, h.workers_running, h.workers_idle]
                    for h in data.health
                ]
            ),
            "columns_in_system": ["t", "jobs_in_system"],
            "in_system": _thin([[round(t, 3), v] for t, v in data.in_system]),
        },
    }
    if llm is not None:
        payload["llm"] = llm
        workers = llm["recommendation"]
        if isinstance(workers, dict):
            per = int(workers["sequences_per_worker"])
            payload["recommended_workers_min"] = math.ceil(int(workers["sequences_min"]) / per)
            payload["recommended_workers_max"] = workers["workers"]
    return payload


def llm_section(
    steps: Sequence[StepSummary], slo: Slo, ramp: Ramp, knee_rps: float | None, target_rps: float | None
) -> dict[str, Any]:
    """Goodput vs offered rate per step, and the advice in sequences and workers."""
    measured = measured_sequences_per_worker(steps)
    per_worker = ramp.sequences_per_worker or measured
    step, light = knee_step(steps, knee_rps), light_step(steps)
    advice = None
    if target_rps is not None and per_worker and step is not None and light is not None:
        advice = advise(target_rps, slo, step, light, per_worker)
    return {
        "request": dict(ramp.llm),
        "goodput_vs_offered": [
            {
                "offered_rps": s.offered_rps,
                "kind": s.kind,
                "goodput_rps": _round((s.llm or {}).get("goodput_rps")),
                "achieved_rps": round(s.achieved_rps, 4),
            }
            for s in steps
        ],
        "sequences_per_worker": per_worker,
        "sequences_per_worker_source": "profile" if ramp.sequences_per_worker else "measured (/health)",
        "advice_from_steps": None
        if step is None or light is None
        else {"knee": step.index, "lightest": light.index},
        "recommendation": None if advice is None else advice.as_json(),
    }


def slo_met_at(target_rps: float | None, knee_rps: float | None) -> bool:
    """Did the endpoint, as measured, meet the SLO at the target rate? Only a rate at or below
    the knee (the highest offered rate that met it with a stable queue) did; with no knee, none."""
    return knee_rps is not None and target_rps is not None and target_rps <= knee_rps


def step_json(step: StepSummary, slo: Slo) -> dict[str, Any]:
    row: dict[str, Any] = {
        "index": step.index,
        "offered_rps": step.offered_rps,
        "achieved_rps": round(step.achieved_rps, 4),
        "submit_rps": round(step.submit_rps, 4),
        "start_t": round(step.start_t, 3),
        "end_t": round(step.end_t, 3),
        "duration_s": round(step.duration_s, 3),
        "ended_by": step.ended_by,
        "kind": step.kind,
        "submitted": step.submitted,
        "completed": step.completed,
        "failed": step.failed,
        "rate_limited": step.rate_limited,
        "rejected": step.rejected,
        "dropped": step.dropped,
        "unfinished": step.unfinished,
    }
    row.update({k: _round(v) for k, v in step.latency_ms.items()})
    row.update(
        {
            "slo_met": step.slo_met,
            "sustainable": step.sustainable,
            "queue_trend": step.trend.verdict,
            "trend": step.trend.as_json(),
            "queue": {k: _round(v) for k, v in step.queue.items()},
            "mean_execution_ms": _round(step.mean_execution_ms),
            "mean_delay_ms": _round(step.mean_delay_ms),
            "workers": step.workers,
        }
    )
    if step.llm is not None:
        row["llm"] = {k: _round(v) for k, v in step.llm.items()}
    return row


def _round(value: float | None, digits: int = 4) -> float | None:
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return round(value, digits)


def _thin(rows: list[list[float]]) -> list[list[float]]:
    stride = max(1, math.ceil(len(rows) / MAX_TIMELINE_POINTS))
    return rows[::stride]


def write_json(path: Path, payload: Mapping[str, Any]) -> None:
    """Atomic: a reader never sees half a file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    os.replace(tmp, path)


def update_manifest(
    out: Path,
    *,
    kind: str,
    target: Mapping[str, object],
    started: datetime,
    ended: datetime,
    interrupted: bool,
    seed: int,
    podbench_version: str,
    profile: str | None = None,
) -> None:
    """Add `kind` to DIR/manifest.json, keeping what other producers wrote there."""
    defaults: dict[str, Any] = {"started": utc_iso(started), "seed": seed, "machine": results.machine()}
    if profile:
        defaults["profile"] = profile
    results.update_manifest(
        out,
        kind,
        {"podbench_version": podbench_version, "target": dict(target), "ended": utc_iso(ended)},
        defaults=defaults,
        interrupted=interrupted,
    )

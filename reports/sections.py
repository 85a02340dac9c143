"""Plain data for each part of the page (facts, conformance matrix, limits, capacity), ready for the template."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from reports.evidence import algorithm_name, evidence_view, plain
from reports.folder import RunFolder
from reports.metrics import run_duration_s
from reports.redact import redact_mapping, redact_text

OUTCOME_ORDER = {"violated": 0, "harness_error": 1, "uncovered": 2, "skipped": 3, "recorded": 4, "passed": 5}
PARTS = (
    ("load", "load run", ("summary.json", "intervals.csv")),
    ("conformance", "conformance run", ("conformance.json",)),
    ("limits", "rate-limit discovery", ("limits.json",)),
    ("capacity", "capacity run", ("capacity.json",)),
    ("simulation", "what-if simulation", ("simulation.json",)),
)


def compact_json(value: Any, limit: int = 400) -> str:
    text = json.dumps(value, sort_keys=True, separators=(", ", ": "), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def readable(value: Any, limit: int = 400) -> str:
    """A JSON value as words for a table cell (`key: value; ...`), never a raw JSON block."""
    text = plain(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def present_parts(run: RunFolder) -> tuple[list[str], list[str]]:
    """(parts the folder holds, parts it does not) in words."""
    have = {
        "load": run.has_load,
        "conformance": run.conformance is not None,
        "limits": run.limits is not None,
        "capacity": run.capacity is not None,
        "simulation": run.simulation is not None,
    }
    present = [name for key, name, _ in PARTS if have[key]]
    missing = [f"{name} ({' / '.join(files)})" for key, name, files in PARTS if not have[key]]
    return present, missing


def facts(run: RunFolder) -> list[tuple[str, str]]:
    """The run's facts as label/value pairs; the target is re-redacted before it is shown."""
    manifest = run.manifest or {}
    target = (
        manifest.get("target") or (run.conformance or {}).get("target") or (run.limits or {}).get("target")
    )
    rows: list[tuple[str, str]] = []
    if isinstance(target, dict):
        clean = redact_mapping(target)
        where = clean.get("base_url", "?")
        endpoint = clean.get("endpoint_id")
        text = f"{where}/{endpoint}" if endpoint else str(where)
        if clean.get("embedded_emulator"):
            text += " (embedded emulator)"
        rows.append(("Target", text))
        if "api_key" in clean:
            rows.append(("API key", str(clean["api_key"])))
    for label, key in (("Profile", "profile"), ("Started", "started"), ("Ended", "ended"), ("Seed", "seed")):
        if manifest.get(key) is not None:
            rows.append((label, str(manifest[key])))
    duration = run_duration_s(run)
    if duration is not None:
        rows.append(("Duration", f"{duration:,.1f} s"))
    if isinstance(manifest.get("kind"), list):
        rows.append(("Parts", ", ".join(str(k) for k in manifest["kind"])))
    versions = manifest.get("versions")
    if isinstance(versions, dict) and versions:
        rows.append(("Versions", ", ".join(f"{k} {v}" for k, v in versions.items())))
    machine = manifest.get("machine")
    if isinstance(machine, dict) and machine:
        rows.append(("Machine", ", ".join(f"{k} {v}" for k, v in redact_mapping(machine).items())))
    return rows


def generator_warnings(run: RunFolder) -> list[str]:
    """What the load generator said about its own health (an overloaded generator distorts latency)."""
    generator = (run.manifest or {}).get("generator")
    warnings: list[str] = []
    if isinstance(generator, dict):
        if generator.get("cpu_warning"):
            warnings.append("the load generator's CPU was above 90%: latencies may include generator delay")
        cpu = generator.get("max_cpu_percent")
        if isinstance(cpu, (int, float)) and cpu >= 90 and not generator.get("cpu_warning"):
            warnings.append(f"the load generator's CPU peaked at {cpu:.0f}%")
        dropped = generator.get("dropped_sends")
        if isinstance(dropped, (int, float)) and dropped > 0:
            warnings.append(
                f"{dropped:,.0f} intended sends were dropped (no free user took them): the offered rate was not met"
            )
        lag = generator.get("max_schedule_lag_ms")
        if isinstance(lag, (int, float)) and lag > 0:
            warnings.append(f"largest schedule lag {lag:,.1f} ms (sends later than planned)")
        warnings.extend(redact_text(str(w)) for w in generator.get("warnings") or [])
    return warnings


def _text(value: Any, limit: int = 600) -> str:
    if value in (None, "", {}, []):
        return ""
    return redact_text(value if isinstance(value, str) else readable(value, limit))[:limit]


def _skip_reason(claim: dict[str, Any]) -> str:
    results = claim.get("results") or []
    reasons = [str(r.get("message")) for r in results if isinstance(r, dict) and r.get("message")]
    return _text("; ".join(dict.fromkeys(reasons)), 600) if reasons else ""


def conformance_worker(run: RunFolder) -> dict[str, Any] | None:
    """Which worker the suite judged: podbench's contract, or a foreign worker with the user's inputs."""
    worker = (run.conformance or {}).get("worker")
    if not isinstance(worker, dict) or not worker.get("mode"):
        return None
    given = worker.get("inputs")
    inputs: dict[str, Any] = given if isinstance(given, dict) else {}
    return {
        "mode": str(worker["mode"]),
        "inputs": ", ".join(f"{kind}: {Path(str(path)).name}" for kind, path in sorted(inputs.items())),
    }


def worker_section(run: RunFolder) -> dict[str, Any] | None:
    """The worker file behind the emulator: what it is, how it started, how its Hub tests went."""
    if run.worker is None and run.hub_tests is None:
        return None
    worker = run.worker or {}
    cold = sorted(float(ms) for ms in worker.get("cold_start_ms") or [] if isinstance(ms, int | float))
    tests = [t for t in (run.hub_tests or {}).get("tests") or [] if isinstance(t, dict)]
    return {
        "file": redact_text(str(worker.get("worker_file") or "unknown")),
        "python": redact_text(str(worker.get("worker_python") or "")),
        "sdk": str(worker.get("runpod_version") or "unknown"),
        "processes": worker.get("workers"),
        "restarts": worker.get("restarts", 0),
        "cold_starts": len(cold),
        "cold_median_ms": statistics.median(cold) if cold else None,
        "cold_max_ms": cold[-1] if cold else None,
        "hub_source": redact_text(str((run.hub_tests or {}).get("source") or "")),
        "hub_tests": [
            {
                "name": str(t.get("name", "")),
                "passed": bool(t.get("passed")),
                "status": str(t.get("status", "")),
                "seconds": t.get("seconds"),
                "timeout_ms": t.get("timeout_ms"),
                "error": _text(t.get("error"), 300),
            }
            for t in tests
        ],
    }


def conformance_rows(run: RunFolder) -> list[dict[str, Any]]:
    """One row per claim, violations first, excerpts redacted again."""
    claims = [c for c in (run.conformance or {}).get("claims") or [] if isinstance(c, dict)]
    rows = []
    for claim in claims:
        outcome = str(claim.get("outcome", "unknown"))
        excerpt = claim.get("excerpt")
        rows.append(
            {
                "id": str(claim.get("id", "?")),
                "kind": str(claim.get("kind", "")),
                "source": str(claim.get("source", "")),
                "quote": str(claim.get("quote", "")),
                "outcome": outcome,
                "measured": redact_text(readable(claim["measured"]))
                if claim.get("measured") not in (None, {})
                else "",
                "tests": ", ".join(str(t) for t in claim.get("tests") or []),
                "excerpt": redact_text(excerpt if isinstance(excerpt, str) else compact_json(excerpt, 4000))
                if excerpt
                else "",
                "expected": _text(claim.get("expected")),
                "observed": _text(claim.get("observed")),
                "severity": _text(claim.get("severity")),
                "skip_reason": _skip_reason(claim) if outcome == "skipped" else "",
            }
        )
    rows.sort(key=lambda r: (OUTCOME_ORDER.get(r["outcome"], 6), r["id"]))
    return rows


def limit_rows(run: RunFolder) -> list[dict[str, Any]]:
    """Measured vs documented limit per operation, with the evidence the discovery kept."""
    rows = []
    for op, data in ((run.limits or {}).get("operations") or {}).items():
        if not isinstance(data, dict):
            continue
        documented: dict[str, Any] = data["documented"] if isinstance(data.get("documented"), dict) else {}
        measured, expected = data.get("limit"), documented.get("limit")
        verdict = ""
        if isinstance(measured, (int, float)) and isinstance(expected, (int, float)) and expected:
            ratio = measured / expected
            verdict = "as documented" if abs(ratio - 1) <= 0.05 else f"{ratio:.0%} of documented"
        rows.append(
            {
                "op": op,
                "limit": measured,
                "window_s": data.get("window_s"),
                "burst": data.get("burst"),
                "sustained_rps": data.get("sustained_rps"),
                "concurrency": data.get("concurrency"),
                "algorithm": algorithm_name(data.get("algorithm", "unknown")),
                "documented": documented,
                "verdict": verdict,
                "retry_after_accurate": data.get("retry_after_accurate"),
                "evidence": _redacted(evidence_view(data.get("evidence"))),
                "complete": data.get("complete") is not False,
                "timeline": data.get("timeline") if isinstance(data.get("timeline"), list) else [],
            }
        )
    return rows


def _redacted(view: dict[str, Any]) -> dict[str, Any]:
    """Evidence text re-redacted (headers and notes come from the target)."""
    if view:
        view["raw"] = redact_text(view["raw"])
        view["other"] = [(k, redact_text(v)) for k, v in view["other"]]
        view["notes"] = [redact_text(n) for n in view["notes"]]
        view["sentences"] = [redact_text(n) for n in view["sentences"]]
    return view


def capacity_facts(run: RunFolder) -> dict[str, Any]:
    """Verdict numbers, steps, the recommendation sentence and the model next to the measurements."""
    data = run.capacity or {}
    slo = data.get("slo")
    numbers: list[tuple[str, Any]] = []
    if slo is not None:
        numbers.append(("SLO", slo.get("expression", readable(slo)) if isinstance(slo, dict) else slo))
    for key, label in (
        ("knee_rps", "knee (highest rate meeting the SLO), jobs/s"),
        ("first_failing_rps", "first failing rate, jobs/s"),
        ("max_sustainable_rps", "max sustainable throughput, jobs/s"),
        ("saturated", "ramp saturated the endpoint"),
        ("target_rps", "workers recommended for, jobs/s"),
        ("slo_met_at_target", "SLO met at that rate (else podbench capacity exits 1)"),
        ("recommended_workers_min", "recommended workers, min"),
        ("recommended_workers_max", "recommended workers, max"),
    ):
        if key in data:
            value = data[key]
            numbers.append(
                (
                    label,
                    "—" if value is None else readable(value) if isinstance(value, (dict, list)) else value,
                )
            )
    recommendation = data.get("recommendation")
    reason = recommendation.get("reason", "") if isinstance(recommendation, dict) else ""
    llm: dict[str, Any] = data["llm"] if isinstance(data.get("llm"), dict) else {}
    advice = llm.get("recommendation")
    if isinstance(advice, dict) and advice.get("statement"):
        reason = str(advice["statement"])  # an LLM sweep: sequences and workers
    goodput = [r for r in llm.get("goodput_vs_offered") or [] if isinstance(r, dict)]
    model: dict[str, Any] = data["model"] if isinstance(data.get("model"), dict) else {}
    formulas: dict[str, Any] = model["formulas"] if isinstance(model.get("formulas"), dict) else {}
    predictions = [p for p in model.get("predictions") or [] if isinstance(p, dict)]
    return {
        "numbers": numbers,
        "reason": str(reason),
        "steps": [s for s in data.get("steps") or [] if isinstance(s, dict)],
        "goodput": goodput,
        "model_name": str(model.get("name", "")),
        "formulas": [(str(k), str(v)) for k, v in formulas.items()],
        "predictions": predictions,
        "model": json.dumps(model, indent=2, default=str) if model and not (formulas or predictions) else "",
    }


def status_code_table(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Exact HTTP statuses per operation (500 apart from 503) and the requests that got none.

    None when no row knows its exact codes (a folder with intervals.csv only has status classes).
    """
    known = [r for r in rows if isinstance(r.get("status_codes"), dict)]
    if not known:
        return None
    codes = sorted({c for r in known for c in r["status_codes"] if c != "0"}, key=lambda c: (len(c), c))
    table = [
        {
            "op": r["op"],
            "counts": {c: int(r["status_codes"].get(c, 0)) for c in codes},
            "connection_errors": int(r.get("connection_errors", 0)),
            "timeouts": int(r.get("timeouts", 0)),
        }
        for r in known
    ]
    return {"codes": codes, "rows": table}


def flow_rows(run: RunFolder) -> list[dict[str, Any]]:
    """Each flow's scheduled sends against its own offered rate (summary.json `flows`); several
    flows may send one operation (`run` and `run_poll` both send /run)."""
    flows = (run.summary or {}).get("flows")
    if not isinstance(flows, dict):
        return []
    rows = []
    for name, flow in flows.items():
        if not isinstance(flow, dict):
            continue
        offered, achieved = flow.get("offered_rps"), flow.get("achieved_rps")
        numbers = isinstance(offered, (int, float)) and isinstance(achieved, (int, float))
        rows.append(
            {
                "flow": str(name),
                "op": str(flow.get("op", "")),
                "offered_rps": offered,
                "achieved_rps": achieved,
                "ratio": achieved / offered if numbers and offered else None,
                "requests": flow.get("requests"),
            }
        )
    return rows

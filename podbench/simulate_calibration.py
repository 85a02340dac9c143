"""`podbench simulate --calibrate DIR`: settings measured in a load run's result folder.

Reads `jobs.csv` (execution times; end-to-end times and poll counts of polled jobs), `health.csv`
(initializing workers over time) and `plan.json` (the poll backoff those jobs used). The fitting
is the emulator's (`emulator.simulation.calibrate`); what could not be measured stays as the
profile gives it, and `describe()` says which.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.simulation.calibrate import cold_start_s, fit_execution, request_s
from emulator.simulation.client import PollPolicy
from podbench.errors import UsageError


@dataclass(frozen=True)
class Calibration:
    folder: str
    execution: dict[str, Any] | None
    cold_start_s: float | None
    request_s: float | None
    jobs: int
    notes: list[str] = field(default_factory=list)

    @property
    def emulator(self) -> dict[str, Any]:
        """The `[emulator]` keys it sets."""
        patch: dict[str, Any] = {}
        if self.execution is not None:
            patch["execution_time"] = self.execution
        if self.cold_start_s is not None:
            patch["cold_start_s"] = self.cold_start_s
        return patch

    def describe(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "jobs": self.jobs,
            "execution_time": self.execution,
            "cold_start_s": self.cold_start_s,
            "request_ms": None if self.request_s is None else round(self.request_s * 1000, 3),
            "notes": self.notes,
        }


def _rows(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise UsageError(f"--calibrate: cannot read {path}: {exc}") from None


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _poll_policy(folder: Path, fallback: dict[str, Any]) -> PollPolicy:
    spec = fallback
    plan_path = folder / "plan.json"
    if plan_path.exists():
        try:
            flows = json.loads(plan_path.read_text(encoding="utf-8")).get("flows", {})
        except (OSError, json.JSONDecodeError):
            flows = {}
        spec = flows.get("run_poll") or flows.get("runsync_fallback") or fallback
    return PollPolicy(
        initial_s=spec.get("poll_initial_ms", 200) / 1000,
        factor=spec.get("poll_factor", 1.5),
        max_s=spec.get("poll_max_ms", 2000) / 1000,
    )


def read_calibration(folder: Path, plan: dict[str, Any]) -> Calibration:
    jobs_csv = folder / "jobs.csv"
    if not jobs_csv.is_file():
        raise UsageError(f"--calibrate: {folder} has no jobs.csv (a `podbench load` result folder has one)")
    jobs = _rows(jobs_csv)
    executions = [v / 1000 for v in (_number(r.get("execution_time_ms")) for r in jobs) if v is not None]
    if not executions:
        raise UsageError(f"--calibrate: {jobs_csv} holds no job with an execution time")
    notes: list[str] = []
    polled: list[tuple[float, int]] = []
    for row in jobs:
        e2e, polls = _number(row.get("end_to_end_ms")), _number(row.get("polls"))
        if e2e is not None and polls:
            polled.append((e2e / 1000, int(polls)))
    fallback: dict[str, Any] = next(iter(plan["flows"].values()), {})
    overhead = request_s(polled, _poll_policy(folder, fallback))
    if overhead is None:
        notes.append("no polled job: request overhead not measured (0 ms used)")
    cold = None
    health_csv = folder / "health.csv"
    if health_csv.is_file():
        timeline = []
        for row in _rows(health_csv):
            values = [_number(row.get(k)) for k in ("t", "initializing", "idle", "running")]
            if all(v is not None for v in values):
                t, initializing, idle, running = (float(v or 0) for v in values)
                timeline.append((t, int(initializing), int(initializing + idle + running)))
        cold = cold_start_s(timeline)
    if cold is None:
        notes.append("no worker seen starting in health.csv: cold_start_s from the profile")
    return Calibration(str(folder), fit_execution(executions), cold, overhead, len(jobs), notes)

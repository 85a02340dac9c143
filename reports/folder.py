"""Read a result folder (docs/results-format.md) into typed parts; a missing part is None.

A part that exists but cannot be read (bad JSON, missing columns) is also None, and the reason
is kept in `notes` so the report can say it instead of failing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from contract import results
from reports.errors import ReportInputError
from reports.hdr import HistogramSet, read_histograms

INTERVAL_COLUMNS = results.INTERVAL_COLUMNS
HEALTH_COLUMNS = results.HEALTH_COLUMNS
JOBS_COLUMNS = results.JOB_COLUMNS
REQUIRED = {"intervals.csv": ("t", "op", "requests"), "health.csv": ("t",), "jobs.csv": ("id",)}

JsonObject = dict[str, Any]


@dataclass
class RunFolder:
    path: Path
    manifest: JsonObject | None = None
    summary: JsonObject | None = None
    intervals: pd.DataFrame | None = None
    histograms: HistogramSet | None = None
    health: pd.DataFrame | None = None
    jobs: pd.DataFrame | None = None
    conformance: JsonObject | None = None
    limits: JsonObject | None = None
    capacity: JsonObject | None = None
    simulation: JsonObject | None = None
    worker: JsonObject | None = None
    """worker.json: the user's worker file run behind the emulator (file, SDK version, cold starts)."""
    hub_tests: JsonObject | None = None
    """hub_tests.json: the worker's RunPod Hub tests, each a job with a timeout."""
    notes: list[str] = field(default_factory=list)
    """Why a part present on disk was not used, in words for the report."""

    @property
    def has_load(self) -> bool:
        return self.summary is not None or self.intervals is not None

    def operations(self) -> list[str]:
        """Operations seen in the load run, in first-seen order."""
        names: list[str] = []
        if self.summary is not None:
            names.extend(self.summary.get("operations", {}))
            names.extend(self.summary.get("follow_ups") or {})
        if self.intervals is not None:
            names.extend(str(op) for op in self.intervals["op"].unique())
        return list(dict.fromkeys(names))


def read_folder(path: str | Path) -> RunFolder:
    """Load every part the folder holds; raise only when the folder itself is unusable."""
    root = Path(path)
    if not root.is_dir():
        raise ReportInputError(f"no such result folder: {root}")
    run = RunFolder(path=root)
    run.manifest = _json(root, "manifest.json", run.notes)
    run.summary = _json(root, "summary.json", run.notes, require_key="operations")
    run.conformance = _json(root, "conformance.json", run.notes, require_key="claims")
    run.limits = _json(root, "limits.json", run.notes, require_key="operations")
    run.capacity = _json(root, "capacity.json", run.notes)
    run.simulation = _json(root, "simulation.json", run.notes, require_key="settings")
    run.worker = _json(root, "worker.json", run.notes)
    run.hub_tests = _json(root, "hub_tests.json", run.notes, require_key="tests")
    run.intervals = _csv(root, "intervals.csv", INTERVAL_COLUMNS, run.notes)
    run.health = _csv(root, "health.csv", HEALTH_COLUMNS, run.notes)
    run.jobs = _csv(root, "jobs.csv", JOBS_COLUMNS, run.notes)
    hist_path = root / "histograms.jsonl"
    if hist_path.is_file():
        run.histograms = read_histograms(hist_path, run.notes)
    if run.intervals is not None:
        run.intervals["op"] = run.intervals["op"].astype(str)
        run.intervals = run.intervals.sort_values(["t", "op"], kind="stable").reset_index(drop=True)
    return run


def _json(root: Path, name: str, notes: list[str], require_key: str | None = None) -> JsonObject | None:
    file = root / name
    if not file.is_file():
        return None
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        notes.append(f"{name} could not be read ({exc}); that part is left out")
        return None
    if not isinstance(data, dict) or (
        require_key is not None and not isinstance(data.get(require_key), (dict, list))
    ):
        what = f"an object with {require_key!r}" if require_key else "a JSON object"
        notes.append(f"{name} is not {what}; that part is left out")
        return None
    return data


def _csv(root: Path, name: str, columns: tuple[str, ...], notes: list[str]) -> pd.DataFrame | None:
    file = root / name
    if not file.is_file():
        return None
    try:
        frame = pd.read_csv(file)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        notes.append(f"{name} could not be read ({exc}); that part is left out")
        return None
    missing_required = [c for c in REQUIRED[name] if c not in frame.columns]
    if missing_required:
        notes.append(f"{name} lacks the column(s) {', '.join(missing_required)}; that part is left out")
        return None
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        notes.append(f"{name} lacks the column(s) {', '.join(absent)}; they are shown as empty")
        for column in absent:
            frame[column] = float("nan")
    numeric = [c for c in columns if c not in ("op", "status", "id", "final_status")]
    for column in numeric:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame

"""The result folder: its file names, the manifest's keys, and the one way to update the manifest.

Every podbench command writes into one folder (`--out DIR`); `reports/` reads only these files.
docs/results-format.md describes each file; this module holds the names both sides use, and
`update_manifest`, which every producer calls so that several runs into one folder (a load run,
then a conformance run, ...) add to `manifest.json` instead of overwriting each other, and a
reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import socket
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
# load run
SUMMARY = "summary.json"
INTERVALS = "intervals.csv"
HISTOGRAMS = "histograms.jsonl"
HEALTH = "health.csv"
JOBS = "jobs.csv"
PLAN = "plan.json"
LOCUST_LOG = "locust.log"
EMULATOR_LOG = "emulator.log"
# the other producers
CONFORMANCE = "conformance.json"
JUNIT = "junit.xml"
LIMITS = "limits.json"
CAPACITY = "capacity.json"
SIMULATION = "simulation.json"

KINDS: tuple[str, ...] = ("load", "conformance", "limits", "capacity", "simulation")
"""The parts a folder may hold; each producer appends its own to the manifest's `kind`."""
MANIFEST_KEYS: tuple[str, ...] = (
    "podbench_version",
    "kind",
    "target",
    "profile",
    "started",
    "ended",
    "interrupted",
    "interrupted_reason",
    "machine",
    "versions",
    "seed",
    "generator",
)

INTERVAL_COLUMNS: tuple[str, ...] = (
    "t",
    "op",
    "requests",
    "failures",
    "rate_limited",
    "timeouts",
    "late_sends",
    "offered",
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "status_2xx",
    "status_4xx",
    "status_429",
    "status_5xx",
    "status_other",
)
"""intervals.csv: the columns every producer writes (the load suite adds LOAD_INTERVAL_EXTRA)."""
LOAD_INTERVAL_EXTRA: tuple[str, ...] = ("dropped_sends", "corrected_p99_ms")
HEALTH_COLUMNS: tuple[str, ...] = (
    "t",
    "in_queue",
    "in_progress",
    "completed",
    "failed",
    "retried",
    "idle",
    "initializing",
    "ready",
    "running",
    "throttled",
    "unhealthy",
    "latency_ms",
    "status",
)
JOB_COLUMNS: tuple[str, ...] = (
    "id",
    "submitted_t",
    "final_status",
    "delay_time_ms",
    "execution_time_ms",
    "end_to_end_ms",
    "polls",
)


def utc_iso(moment: float | datetime | None = None) -> str:
    """`2026-11-28T13:40:00.123Z`: an epoch time, an aware datetime, or now."""
    if moment is None:
        moment = datetime.now(UTC)
    elif not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def machine() -> dict[str, Any]:
    """The manifest's `machine`: where the numbers were measured."""
    return {
        "hostname": socket.gethostname(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def versions(*distributions: str) -> dict[str, str]:
    """Installed versions of these distributions (those not installed are left out)."""
    found: dict[str, str] = {}
    for name in distributions:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found


def write_json_atomic(path: Path, data: Any, *, indent: int | None = 2) -> None:
    """Write JSON through a temporary file and a rename: a reader sees the old file or the new one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=indent) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_manifest(out_dir: Path) -> dict[str, Any]:
    """DIR/manifest.json, or {} when it is missing or unreadable."""
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def update_manifest(
    out_dir: Path,
    kind: str,
    values: Mapping[str, Any] | None = None,
    *,
    defaults: Mapping[str, Any] | None = None,
    interrupted: bool | None = None,
) -> dict[str, Any]:
    """Merge one producer's keys into DIR/manifest.json, keeping what other producers wrote there.

    - `kind` joins the `kind` list (once);
    - `values` replace what is there, but a dict (`versions`, `generator`) is merged key by key;
    - `defaults` fill keys the manifest does not have yet (an earlier producer's `started`, ...);
    - `interrupted` (when given) is or-ed in: once a part of the folder was cut short, it says so.
    Written atomically; concurrent producers on one machine take turns (a lock on the folder).
    Returns the manifest as written.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown result kind {kind!r}; known: {', '.join(KINDS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    with _folder_lock(out_dir):
        manifest = read_manifest(out_dir)
        for key, value in (values or {}).items():
            old = manifest.get(key)
            manifest[key] = (
                {**old, **value} if isinstance(old, dict) and isinstance(value, Mapping) else value
            )
        for key, value in (defaults or {}).items():
            manifest.setdefault(key, value)
        kinds = [k for k in manifest.get("kind") or [] if isinstance(k, str)]
        manifest["kind"] = kinds if kind in kinds else [*kinds, kind]
        if interrupted is not None:
            manifest["interrupted"] = bool(manifest.get("interrupted")) or interrupted
        write_json_atomic(out_dir / MANIFEST, manifest)
    return manifest


@contextlib.contextmanager
def _folder_lock(out_dir: Path) -> Iterator[None]:
    """An exclusive advisory lock on the folder itself (no lock file left behind); none off POSIX."""
    try:
        import fcntl
    except ImportError:  # Windows: producers into one folder at once are not supported there
        yield
        return
    fd = os.open(out_dir, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)

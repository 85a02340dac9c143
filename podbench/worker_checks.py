"""What `--worker` runs adds to a result folder: the worker's RunPod Hub tests, each a job that must
complete within its timeout (hub_tests.json), and what the emulator saw of the worker processes:
the file, its SDK version, measured cold starts, restarts (worker.json)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import requests

from podbench.embedded import EmbeddedEmulator
from podbench.errors import TargetUnreachable
from podbench.worker_file import HubTest, WorkerFile

FINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"})
ANNOUNCE_EVERY_S = 10.0


def run_hub_tests(emu: EmbeddedEmulator, tests: list[HubTest], source: Path | None) -> dict[str, Any]:
    """Each test as a job through the public API; passed = COMPLETED within its timeout."""
    base = f"{emu.target.base_url}/{emu.target.endpoint_id}"
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    results = [_one(base, headers, test) for test in tests]
    return {
        "source": str(source) if source else None,
        "tests": results,
        "passed": sum(1 for r in results if r["passed"]),
        "failed": sum(1 for r in results if not r["passed"]),
    }


def _one(base: str, headers: dict[str, str], test: HubTest) -> dict[str, Any]:
    started = time.monotonic()
    limit_s = test.timeout_ms / 1000
    result: dict[str, Any] = {"name": test.name, "timeout_ms": test.timeout_ms, "passed": False}
    try:
        reply = requests.post(f"{base}/run", json={"input": test.input}, headers=headers, timeout=10)
        job_id = reply.json().get("id") if reply.ok else None
        if not job_id:
            return {**result, "status": f"HTTP {reply.status_code}", "error": reply.text[:300]}
        body: dict[str, Any] = {}
        announced = ANNOUNCE_EVERY_S
        while time.monotonic() - started < limit_s:
            body = requests.get(f"{base}/status/{job_id}", headers=headers, timeout=10).json()
            if body.get("status") in FINAL:
                break
            waited = time.monotonic() - started
            if waited >= announced:
                print(
                    f"podbench: waiting for Hub test {test.name!r} ({waited:.0f} s of {limit_s:.0f} s)",
                    file=sys.stderr,
                )
                announced += ANNOUNCE_EVERY_S
            time.sleep(0.05)
    except (requests.RequestException, ValueError) as exc:
        raise TargetUnreachable(f"Hub test {test.name!r}: the emulator stopped answering: {exc}") from None
    seconds = time.monotonic() - started
    status = str(body.get("status", "no answer"))
    if status not in FINAL:
        status = f"not final within {test.timeout_ms} ms (last: {status})"
        requests.post(f"{base}/cancel/{job_id}", headers=headers, timeout=10)
    return {
        **result,
        "job_id": job_id,
        "status": status,
        "seconds": round(seconds, 3),
        "passed": status == "COMPLETED" and seconds * 1000 <= test.timeout_ms,
        "error": body.get("error"),
    }


def worker_facts(emu: EmbeddedEmulator, worker: WorkerFile) -> dict[str, Any]:
    """The emulator's view of the worker processes (control API), reduced to what a report shows."""
    url = f"{emu.target.admin_url}/endpoints/{emu.target.endpoint_id}/workers"
    try:
        reply = requests.get(url, headers={"Authorization": f"Bearer {emu.admin_key}"}, timeout=10)
        body = reply.json() if reply.ok else {}
    except (requests.RequestException, ValueError):
        body = {}
    workers = [w for w in body.get("workers") or [] if isinstance(w, dict)]
    cold = [ms for w in workers for ms in w.get("cold_start_ms") or []]
    return {
        "format": "podbench.worker/1",
        "worker_file": str(worker.path),
        "worker_python": worker.python or sys.executable,
        "runpod_version": body.get("runpod_version"),
        "workers": len(workers),
        "cold_start_ms": cold,
        "restarts": sum(int(w.get("restarts") or 0) for w in workers),
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

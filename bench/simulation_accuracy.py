"""Simulation accuracy: `podbench simulate` next to a real-time `podbench load --trace` replay of the
same trace against the embedded emulator with the same settings. For each setting the simulated
p95 end-to-end latency and worker-seconds must be within 10 % of the replay's.

    .venv/bin/python bench/simulation_accuracy.py            # three settings, about 8 minutes
    .venv/bin/python bench/simulation_accuracy.py --quick    # shorter traces, about 4 minutes

Each trace row carries its job's input (`{"sleep": s}`, drawn once, seeded), so both sides run the
same work and the comparison is of the model (queue, scaler, cold starts, idle timeouts, the
polling client), not of two random draws. The replay's worker-seconds are its /health timeline
integrated over the same window the simulation reports (the trace's start to the later of its end
and the last job's end); its whole-run figure (`summary.json` `jobs.worker_seconds`) is printed too.
Full results go to bench/out/simulation_accuracy.json. Loopback only; each run is bounded by its
trace and the flows' job timeout.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from contract.traces import Arrival, Shape, shape_trace, write_trace  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
TOLERANCE = 0.10
POLL = 'poll = { initial_ms = 100, max_ms = 200, factor = 1.5, job_timeout = "120s" }'

# label, shape (name, rate, duration s, extra), [emulator] table, execution mean s
SETTINGS = [
    (
        "scale from zero, cold starts",
        ("poisson", 0.5, 150.0, {}),
        {"workers_min": 0, "workers_max": 3, "cold_start_s": 3, "idle_timeout_s": 2, "scaler_value": 2},
        0.8,
    ),
    (
        "bursty trace (spike x8)",
        ("spike", 0.6, 150.0, {"spike_factor": 8.0, "spike_s": 20.0}),
        {"workers_min": 0, "workers_max": 6, "cold_start_s": 2, "idle_timeout_s": 5, "scaler_value": 1},
        0.6,
    ),
    (
        "steady, active workers",
        ("poisson", 3.0, 120.0, {}),
        {"workers_min": 2, "workers_max": 4, "cold_start_s": 2, "idle_timeout_s": 5, "scaler_value": 2},
        0.5,
    ),
]


def _toml_value(value: object) -> str:
    return json.dumps(value)


def profile_text(label: str, emulator: Mapping[str, object]) -> str:
    table = "\n".join(f"{k} = {_toml_value(v)}" for k, v in emulator.items())
    return (
        f'[profile]\nname = "accuracy"\ndescription = "{label}"\nseed = 1\n'
        f'[defaults]\ntimeout = "30s"\n{POLL}\n'
        f"[emulator]\n{table}\n"
        "[flows.run_poll]\nrate = 1\ninput = {}\n"
    )


def make_trace(
    path: Path, shape: tuple[str, float, float, dict[str, float]], mean_s: float, quick: bool
) -> float:
    name, rate, duration, extra = shape
    if quick:
        duration *= 0.5
        extra = {k: (v * 0.5 if k == "spike_s" else v) for k, v in extra.items()}
    trace = shape_trace(Shape(name, rate, duration, seed=5, **extra))  # type: ignore[arg-type]
    rng = random.Random(7)
    sigma = 0.4
    rows = [
        Arrival(a.t, {"sleep": round(rng.lognormvariate(-sigma * sigma / 2, sigma) * mean_s, 3)}, a.flow)
        for a in trace.arrivals
    ]
    write_trace(path, rows)
    return duration


def podbench(*args: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "podbench", *args], capture_output=True, text=True, timeout=900
    )
    if proc.returncode != 0:
        raise SystemExit(f"podbench {args[0]} failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")


def replay_worker_seconds(folder: Path, window_s: float) -> float:
    """The replay's /health timeline integrated from the schedule's start over `window_s`."""
    manifest = json.loads((folder / "manifest.json").read_text())
    started = datetime.fromisoformat(manifest["started"].replace("Z", "+00:00")).timestamp()
    begin = started - int(started)  # health.csv `t` counts from the start's whole second
    end = begin + window_s
    with open(folder / "health.csv", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["running"] != ""]
    total = 0.0
    for now, after in zip(rows, rows[1:], strict=False):
        a, b = max(float(now["t"]), begin), min(float(after["t"]), end)
        if b > a:
            total += (int(now["running"]) + int(now["idle"]) + int(now["initializing"])) * (b - a)
    return total


def run_setting(
    label: str, shape: Any, emulator: Mapping[str, object], mean_s: float, work: Path, quick: bool
) -> dict[str, Any]:
    profile = work / "profile.toml"
    profile.write_text(profile_text(label, emulator))
    trace = work / "trace.jsonl"
    make_trace(trace, shape, mean_s, quick)
    podbench("simulate", "--trace", str(trace), "--profile", str(profile), "--out", str(work / "sim"))
    podbench("load", "--trace", str(trace), "--profile", str(profile), "--out", str(work / "replay"))
    sim = json.loads((work / "sim" / "simulation.json").read_text())["settings"][0]
    summary = json.loads((work / "replay" / "summary.json").read_text())
    jobs = summary["jobs"]
    real_ws = replay_worker_seconds(work / "replay", sim["window_s"])
    row = {
        "setting": label,
        "endpoint": dict(emulator),
        "jobs": sim["jobs"],
        "replay_completed": jobs["completed"],
        "replay_unfinished": jobs["unfinished"],
        "p95_real_ms": jobs["end_to_end_ms"]["p95"],
        "p95_sim_ms": sim["end_to_end_ms"]["p95"],
        "worker_s_real": round(real_ws, 1),
        "worker_s_sim": sim["worker_seconds"]["total"],
        "worker_s_real_whole_run": (jobs.get("worker_seconds") or {}).get("total"),
        "window_s": sim["window_s"],
        "cold_starts_sim": sim["cold_starts"],
        "late_sends": summary["generator"]["late_sends"],
        "dropped_sends": summary["generator"]["dropped_sends"],
    }
    row["p95_ratio"] = round(row["p95_sim_ms"] / row["p95_real_ms"], 3)
    row["worker_s_ratio"] = round(row["worker_s_sim"] / row["worker_s_real"], 3)
    row["within"] = abs(row["p95_ratio"] - 1) <= TOLERANCE and abs(row["worker_s_ratio"] - 1) <= TOLERANCE
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="half-length traces")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    rows = []
    for label, shape, emulator, mean_s in SETTINGS:
        with tempfile.TemporaryDirectory(prefix="podbench-simacc-") as tmp:
            print(f"{label}: replaying in real time, then simulating ...", flush=True)
            rows.append(run_setting(label, shape, emulator, mean_s, Path(tmp), args.quick))
    print()
    print(
        f"{'setting':32} {'jobs':>5} {'p95 real':>9} {'p95 sim':>9} {'ratio':>6}   {'w-s real':>8} {'w-s sim':>8} {'ratio':>6}  ok"
    )
    for r in rows:
        print(
            f"{r['setting']:32} {r['jobs']:5d} {r['p95_real_ms']:9.0f} {r['p95_sim_ms']:9.0f} {r['p95_ratio']:6.3f}   "
            f"{r['worker_s_real']:8.1f} {r['worker_s_sim']:8.1f} {r['worker_s_ratio']:6.3f}  {'yes' if r['within'] else 'NO'}"
        )
    (OUT / "simulation_accuracy.json").write_text(json.dumps(rows, indent=2) + "\n")
    ok = all(r["within"] for r in rows)
    print(
        f"\nall within {TOLERANCE:.0%}: {'yes' if ok else 'NO'}  (details: bench/out/simulation_accuracy.json)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

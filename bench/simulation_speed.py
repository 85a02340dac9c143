"""Simulation speed: a day of traffic for one setting on one core, and a sweep on every core.

1. 24 h of a diurnal shape averaging 5 jobs/s (about 430 000 jobs) through one setting in one
   process: its CPU seconds against the 60 s goal, and simulated seconds per CPU second.
2. A 20-setting sweep (a shorter diurnal trace) run once on one process and once on every core:
   the speed-up, and how busy the cores were (children's CPU / (wall × cores)).

    .venv/bin/python bench/simulation_speed.py            # about 2-4 minutes on 2 shared cores
    .venv/bin/python bench/simulation_speed.py --quick    # 6 h day part, 20 x 20 min sweep

Figures are measured side by side in one run; on a shared machine the wall-clock ones move with
the neighbours' load (CPU seconds much less so).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from contract.traces import Shape, shape_trace  # noqa: E402
from emulator.config import EndpointConfig, endpoint_from_table  # noqa: E402
from emulator.simulation.client import ClientModel, PollPolicy  # noqa: E402
from emulator.simulation.runner import Play, run_all, run_one  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
GOAL_CPU_S = 60.0
DAY_JOBS = 5.0 * 86_400
SETTING = {
    "id": "simulated",
    "workers_min": 1,
    "workers_max": 20,
    "cold_start_s": 5,
    "idle_timeout_s": 5,
    "execution_time": {"distribution": "lognormal", "mean_s": 1.0, "spread_s": 0.5},
}


def play_for(hours: float, shape: str = "diurnal") -> Play:
    trace = shape_trace(Shape(shape, 5.0, hours * 3600, seed=1))
    client = ClientModel({"run_poll": PollPolicy()}, request_s=0.002)
    return Play(trace.arrivals, trace.duration_s, client, {"run_poll": {}}, seed=1, round_up_s=1.0)


def sweep_settings() -> list[EndpointConfig]:
    base = endpoint_from_table(SETTING)
    out = []
    for workers_min in (0, 1, 2, 3, 4):
        for idle in (5, 30):
            for scaler_value in (1, 4):
                table = {"workers_min": workers_min, "idle_timeout_s": idle, "scaler_value": scaler_value}
                out.append(endpoint_from_table(table, base=base))
    return out


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a 6 h day part and a 20-minute sweep trace")
    args = parser.parse_args()
    hours = 6.0 if args.quick else 24.0
    OUT.mkdir(exist_ok=True)

    play = play_for(hours)
    config = endpoint_from_table(SETTING)
    wall = time.monotonic()
    run = run_one(config, play)
    wall = time.monotonic() - wall
    jobs = run.outcome.jobs
    day_cpu = run.cpu_s * DAY_JOBS / jobs  # a day part: scaled by jobs (the night is lighter)
    print(f"1. {hours:g} h diurnal (mean 5 jobs/s): {jobs:,} jobs, one setting, one process")
    print(
        f"   CPU {run.cpu_s:.1f} s (wall {wall:.1f} s), {jobs / run.cpu_s:,.0f} jobs per CPU second, "
        f"{hours * 3600 / run.cpu_s:,.0f} simulated s per CPU second"
    )
    print(
        f"   a whole day: {day_cpu:.1f} CPU s = {day_cpu / GOAL_CPU_S:.2f} x the {GOAL_CPU_S:.0f} s goal "
        f"({'within' if day_cpu <= GOAL_CPU_S else 'OVER'})"
    )
    print(
        f"   p95 end to end {run.end_to_end_ms['p95']} ms, {run.outcome.totals.total:,.0f} worker-seconds, "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )

    sweep_play = play_for(1 / 3 if args.quick else 1.0, "poisson")
    settings = sweep_settings()
    cores = os.cpu_count() or 1
    own = os.times()
    start = time.monotonic()
    serial = run_all(settings, sweep_play, processes=1)
    serial_wall = time.monotonic() - start
    serial_cpu = sum(os.times()[:2]) - sum(own[:2])
    before = children_cpu()
    start = time.monotonic()
    parallel = run_all(settings, sweep_play, processes=cores)
    parallel_wall = time.monotonic() - start
    child_cpu = children_cpu() - before
    same = all(a.end_to_end_ms == b.end_to_end_ms for a, b in zip(serial, parallel, strict=True))
    speedup = serial_wall / parallel_wall
    busy = child_cpu / (parallel_wall * cores)
    print(
        f"2. {len(settings)}-setting sweep, {len(sweep_play.arrivals):,} jobs each (poisson 5 jobs/s), {cores} cores"
    )
    print(
        f"   one process: wall {serial_wall:.1f} s, CPU {serial_cpu:.1f} s = {serial_cpu / serial_wall:.2f} cores busy"
    )
    print(
        f"   {cores} processes: wall {parallel_wall:.1f} s, CPU {child_cpu:.1f} s = {child_cpu / parallel_wall:.2f} cores busy "
        f"({busy:.0%} of {cores})"
    )
    print(
        f"   speed-up {speedup:.2f} x (ideal {cores}; the cores are shared), same results: {'yes' if same else 'NO'}"
    )
    (OUT / "simulation_speed.json").write_text(
        json.dumps(
            {
                "hours": hours,
                "jobs": jobs,
                "cpu_s": run.cpu_s,
                "day_cpu_s": round(day_cpu, 2),
                "goal_cpu_s": GOAL_CPU_S,
                "sweep": {
                    "settings": len(settings),
                    "cores": cores,
                    "serial_wall_s": round(serial_wall, 2),
                    "serial_cpu_s": round(serial_cpu, 2),
                    "parallel_cpu_s": round(child_cpu, 2),
                    "parallel_wall_s": round(parallel_wall, 2),
                    "speedup": round(speedup, 2),
                    "cores_busy": round(busy, 3),
                    "same_results": same,
                },
            },
            indent=2,
        )
        + "\n"
    )
    return 0 if day_cpu <= GOAL_CPU_S and same else 1


if __name__ == "__main__":
    raise SystemExit(main())

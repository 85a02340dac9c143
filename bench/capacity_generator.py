"""Does `podbench capacity` need its own load generator, or could it drive the load room?

Rooms never import one another, so the only way for the capacity room to reuse the load room's
generator is to run it as a child (`podbench load`, one run per step: each step's rate depends
on the last step's verdict) and read its result files. Side by side, in one run, against one
embedded emulator (W workers, jobs sleeping S s, rate limits off):

1. One step at R jobs/s held D s (each job one `/runsync`, the capacity room's default), ROUNDS
   times, alternating
   a. the capacity room's step runner, in this process (as every step of a ramp runs), and
   b. the load room: `podbench load` with one `runsync_fallback` flow at R for D s, a child per step.
   Printed: wall seconds beyond D (the cost of a step), jobs completed per job offered, p50 and
   p95 of end-to-end latency (the two must agree: same endpoint), client CPU seconds per step
   (the load room's includes starting its processes, as every step would); ratios load / runner.
2. One whole capacity ramp with the step runner on the same emulator: its steps and seconds, and
   what the same steps would take through the load room: each step held its maximum (the load
   room has no live jobs-in-system count, so a step cannot end once the queue is stable or
   clearly growing) plus the per-step cost of 1b. Ratio of the two.

    .venv/bin/python bench/capacity_generator.py            # about 3 min
    .venv/bin/python bench/capacity_generator.py --quick    # about 1.5 min
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from capacity.ramp import Ramp
from capacity.runner import RunData, StepRunner
from capacity.slo import Slo
from podbench.embedded import EmbeddedEmulator, embedded_emulator

WORKERS, SLEEP_S = 4, 0.1  # capacity W / S = 40 jobs/s
RATE = 20.0  # half the capacity: both generators should see the same endpoint
SLO = Slo(95, 1000)


def patch_workers(emu: EmbeddedEmulator) -> None:
    assert emu.target.admin_url is not None
    url = f"{emu.target.admin_url}/endpoints/{emu.target.endpoint_id}"
    body = {"workers_min": WORKERS, "workers_max": WORKERS, "cold_start_s": 0}
    headers = {"Authorization": f"Bearer {emu.admin_key}"}
    requests.patch(url, json=body, headers=headers, timeout=10).raise_for_status()


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def step_runner(emu: EmbeddedEmulator, ramp: Ramp) -> tuple[RunData, float, float]:
    """(data, wall seconds, CPU seconds) of the capacity room's runner in this process."""
    runner = StepRunner(emu.target.base_url, emu.target.endpoint_id, emu.api_key, ramp, SLO)
    wall, cpu = time.perf_counter(), time.process_time()
    data = asyncio.run(runner.run())
    return data, time.perf_counter() - wall, time.process_time() - cpu


def one_step_runner(emu: EmbeddedEmulator, hold_s: float) -> dict[str, float]:
    ramp = Ramp(
        start_rps=RATE,
        max_rps=RATE,
        min_hold_s=hold_s,
        max_hold_s=hold_s,
        refine_steps=0,
        saturation_hold_s=0.0,
        drain_s=10.0,
        submit="runsync",
        input={"sleep": SLEEP_S},
    )
    data, wall, cpu = step_runner(emu, ramp)
    jobs = [j for j in data.jobs if j.step == 0]
    done = [j for j in jobs if j.status == "COMPLETED" and j.done_t is not None]
    e2e = [j.latency_ms(data.ended_t) for j in done]
    return {
        "extra_s": wall - hold_s,
        "completed_share": len(done) / max(1, len(jobs)),
        "p50_ms": percentile(e2e, 50),
        "p95_ms": percentile(e2e, 95),
        "cpu_s": cpu,
        "jobs": len(jobs),
    }


def load_profile(hold_s: float) -> str:
    return (
        f'[profile]\nname = "bench-capacity-step"\nduration = "{hold_s}s"\narrival = "poisson"\n'
        "health_interval = 60\n\n"
        f"[flows.runsync_fallback]\nrate = {RATE}\ninput = {{ sleep = {SLEEP_S} }}\n"
    )


def one_step_load_room(emu: EmbeddedEmulator, hold_s: float, tmp: Path, index: int) -> dict[str, float]:
    profile = tmp / "step.toml"
    profile.write_text(load_profile(hold_s))
    out = tmp / f"load-{index}"
    cmd = [sys.executable, "-m", "podbench", "load", "--profile", str(profile), "--out", str(out)]
    cmd += ["--target-url", emu.target.base_url, "--endpoint-id", emu.target.endpoint_id]
    wall, cpu = time.perf_counter(), children_cpu_s()
    done = subprocess.run(cmd, env=emu.child_env(), capture_output=True, text=True, timeout=300, check=False)
    wall, cpu = time.perf_counter() - wall, children_cpu_s() - cpu
    if done.returncode != 0:
        raise SystemExit(f"podbench load failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    jobs = json.loads((out / "summary.json").read_text())["jobs"]
    return {
        "extra_s": wall - hold_s,
        "completed_share": jobs["completed"] / max(1, jobs["submitted"]),
        "p50_ms": float(jobs["end_to_end_ms"]["p50"]),
        "p95_ms": float(jobs["end_to_end_ms"]["p95"]),
        "cpu_s": cpu,
        "jobs": jobs["submitted"],
    }


def whole_ramp(emu: EmbeddedEmulator, quick: bool) -> dict[str, Any]:
    truth = WORKERS / SLEEP_S
    ramp = Ramp(
        start_rps=0.4 * truth,
        step_rps=0.15 * truth,
        max_rps=2 * truth,
        min_hold_s=3.0 if quick else 4.0,
        max_hold_s=8.0 if quick else 12.0,
        refine_steps=1 if quick else 2,
        saturation_hold_s=4.0,
        drain_s=2.0,
        submit="runsync",
        input={"sleep": SLEEP_S},
    )
    data, wall, _ = step_runner(emu, ramp)
    held = sum(w.end_t - w.start_t for w in data.windows)
    fixed = sum(ramp.saturation_hold_s if w.kind == "saturation" else ramp.max_hold_s for w in data.windows)
    return {"steps": len(data.windows), "wall_s": wall, "held_s": held, "fixed_held_s": fixed, "ramp": ramp}


def percentile(values: list[float], pct: float) -> float:
    """Nearest rank, as capacity.json and the load room's HDR histograms report it."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(pct / 100 * len(ordered)))) - 1]


def median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="shorter steps, fewer rounds")
    args = parser.parse_args()
    hold_s, rounds = (5.0, 2) if args.quick else (8.0, 3)
    ours: list[dict[str, float]] = []
    theirs: list[dict[str, float]] = []
    with (
        tempfile.TemporaryDirectory(prefix="podbench-capacity-generator-") as tmp,
        embedded_emulator(extra_args=["--rate-limits=off"]) as emu,
    ):
        patch_workers(emu)
        for index in range(rounds):
            ours.append(one_step_runner(emu, hold_s))
            theirs.append(one_step_load_room(emu, hold_s, Path(tmp), index))
        ramp = whole_ramp(emu, args.quick)
    print(
        f"1. one step: {RATE:g} jobs/s for {hold_s:g} s, {WORKERS} workers x {SLEEP_S:g} s jobs; medians of {rounds}"
    )
    print(f"   {'':<34} {'step runner':>12} {'load room':>12} {'load/runner':>12}")
    for key, label in (
        ("extra_s", "wall seconds beyond the hold"),
        ("completed_share", "jobs completed / offered"),
        ("p50_ms", "p50 end-to-end ms"),
        ("p95_ms", "p95 end-to-end ms"),
        ("cpu_s", "client CPU seconds per step"),
    ):
        a, b = median(ours, key), median(theirs, key)
        print(f"   {label:<34} {a:>12.3f} {b:>12.3f} {b / a if a else float('nan'):>12.2f}")
    per_step = median(theirs, "extra_s")
    through_load = ramp["fixed_held_s"] + ramp["steps"] * per_step
    r = ramp["ramp"]
    print(
        f"2. one ramp (start {r.start_rps:g}, +{r.step_rps:g} jobs/s, holds {r.min_hold_s:g}-{r.max_hold_s:g} s, "
        f"{r.refine_steps} refinements, saturation {r.saturation_hold_s:g} s)"
    )
    print(
        f"   step runner: {ramp['steps']} steps held {ramp['held_s']:.1f} s in all ({ramp['wall_s']:.1f} s wall)"
    )
    print(
        f"   load room: the same steps held to their maximum {ramp['fixed_held_s']:.1f} s "
        f"+ {ramp['steps']} x {per_step:.2f} s per child = {through_load:.1f} s"
    )
    print(f"   ratio of step-holding time, load room / step runner: {through_load / ramp['held_s']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

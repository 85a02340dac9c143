"""Emulator throughput, memory and limiter accuracy, measured side by side with a bare aiohttp app.

    python bench/emulator_throughput.py [--quick]

1. Throughput: the bare app `bench/bare_app.py`, the emulator (`python -m emulator --rate-limits
   off`: auth, job store, workers, stats) and the emulator with every limit on but out of reach, all
   pinned to CPU 0, wrk on CPU 1 with 32 connections, `GET /v2/ID/health` and `POST /v2/ID/run`,
   repetitions in rotating order so drift in the shared machine hits all. Prints req/s, p50, p99,
   the hypervisor's CPU steal during each run and the ratio to the bare app in the same repetition.
   A run during which the host stole >= 1 % of the CPU is run again, at most twice, and the one
   with the least steal is kept. Goals: >= 0.7x on health, >= 0.6x on run, emulator p99 <= 10 ms,
   judged on the repetitions with steal < 1 % (above that the host's stalls, not the server, set p99).
2. RSS flatness: POST /run paced by wrk at 5k req/s (one open-model schedule over 64 connections)
   for 5 min (30 s with --quick); the emulator's RSS is sampled from /proc. Goal: < 10 % growth
   after the first fifth of the run.
3. Limiter accuracy: a sliding window of N=1000 per 10 s on /run (limits on), offered 2x (200 req/s)
   for 60 s (30 s with --quick) by a paced asyncio client. Accept times come from the emulator's
   control API (`GET /_emulator/endpoints/ID/limits?accepts=1`, server clock), or from the client's
   own log if that route is missing. Goal: no 10 s span holds more than N, every span >= 0.99 N.

wrk is installed with apt-get if missing. All traffic goes to 127.0.0.1; every process started here
is stopped by its PID. Results go to bench/out/ (git-ignored). The API key is random per run, read
by wrk from the environment, and never written anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from emulator_bench_support import (
    DONE_LUA,
    Server,
    accuracy_run,
    collect_wrk,
    cpu_ticks,
    format_table,
    is_quiet,
    run_wrk,
    start_wrk,
    steal_since,
)

from contract.emulator_process import emulator_command

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
ENDPOINT = "bench"
GOALS = {"health": 0.7, "run": 0.6}
P99_GOAL_MS = 10.0
RSS_GOAL = 0.10

GET_LUA = """
wrk.headers["Authorization"] = "Bearer " .. os.getenv("PODBENCH_BENCH_KEY")
"""
POST_LUA = """
wrk.method = "POST"
wrk.body = '{"input": {"prompt": "hello world", "steps": 4, "seed": 42}}'  -- the baselines' 61-byte body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("PODBENCH_BENCH_KEY")
"""
# Open-model pacing for the RSS run: one schedule shared by all connections of wrk's single
# thread, read from the monotonic clock (LuaJIT's ffi; Debian's wrk has no clock of its own), so
# the rate holds when replies slow down, which a fixed per-connection pause does not.
PACED_LUA = (
    POST_LUA
    + """
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } podbench_timespec;
int clock_gettime(int clk_id, podbench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("podbench_timespec")
local interval_ms = 1000 / tonumber(os.getenv("PODBENCH_BENCH_RATE"))
local next_send_ms = nil
local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end
function delay()
  local now = now_ms()
  if next_send_ms == nil then next_send_ms = now end
  next_send_ms = next_send_ms + interval_ms
  local wait = next_send_ms - now
  if wait < 0 then return 0 end
  return wait
end
"""
)
RSS_RATE = 5000
RSS_CONNECTIONS = 64  # the schedule, not the replies, sets the rate while replies take < 64 / 5000 s


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    print("wrk is missing: apt-get update && apt-get install -y wrk", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)


ROUTES = {"health": f"/v2/{ENDPOINT}/health", "run": f"/v2/{ENDPOINT}/run"}


def measure(server: Server, path: str, script: Path, seconds: int, quiet_retries: int) -> dict[str, Any]:
    """One wrk run, run again (at most `quiet_retries` times) while the host steals CPU; the attempt
    with the least steal is kept, and every attempt's steal is recorded with it."""
    attempts = [run_wrk(server.url + path, script, seconds, env=server.client_env)]
    while not is_quiet(attempts[-1]) and len(attempts) <= quiet_retries:
        attempts.append(run_wrk(server.url + path, script, seconds, env=server.client_env))
    return {**min(attempts, key=lambda a: a["steal"]), "attempt_steals": [a["steal"] for a in attempts]}


def throughput(
    servers: list[Server],
    scripts: dict[str, Path],
    reps: int,
    seconds: int,
    routes: list[str],
    quiet_retries: int,
) -> dict[str, Any]:
    """servers[0] is the bare app; every other server's ratio is taken against it in the same repetition."""
    paths = {route: ROUTES[route] for route in routes}
    for route, path in paths.items():  # unrecorded warm-up
        for server in servers:
            run_wrk(server.url + path, scripts[route], 2, env=server.client_env)
    bare, names = servers[0].name, [s.name for s in servers]
    results: dict[str, Any] = {}
    for route, path in paths.items():
        runs: list[dict[str, Any]] = []
        for rep in range(reps):
            order = servers[rep % len(servers) :] + servers[: rep % len(servers)]  # rotate who goes first
            if rep % 2:
                order.reverse()
            row: dict[str, Any] = {
                s.name: measure(s, path, scripts[route], seconds, quiet_retries) for s in order
            }
            row["ratio"] = {
                n: row[n]["rps"] / row[bare]["rps"] if row[bare]["rps"] else 0.0 for n in names[1:]
            }
            runs.append(row)
            cells = " | ".join(
                f"{n} {row[n]['rps']:7.0f} req/s p99 {row[n]['p99_ms']:6.2f} ms steal {row[n]['steal']:4.0%}"
                + (f" ({row['ratio'][n]:.2f}x)" if n != bare else "")
                for n in names
            )
            print(f"  {route:6} rep {rep + 1}: {cells}", flush=True)
        results[route] = {
            "runs": runs,
            "median": {
                n: {k: statistics.median(r[n][k] for r in runs) for k in ("rps", "p50_ms", "p99_ms")}
                for n in names
            },
            "ratio_median": {n: statistics.median(r["ratio"][n] for r in runs) for n in names[1:]},
            "quiet_ratio": {n: quiet_ratio(runs, bare, n) for n in names[1:]},
            "non2xx": {n: sum(r[n]["non2xx"] + r[n]["socket_errors"] for r in runs) for n in names},
            "quiet": {n: quiet_p99([r[n] for r in runs]) for n in names},
        }
    return results


def quiet_p99(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The p99 goal is judged on the repetitions the hypervisor left alone (steal < QUIET_STEAL)."""
    quiet = [r["p99_ms"] for r in runs if is_quiet(r)]
    return {
        "reps": len(quiet),
        "of": len(runs),
        "p99_ms": statistics.median(quiet) if quiet else None,
        "steal_median": statistics.median(r["steal"] for r in runs),
    }


def quiet_ratio(runs: list[dict[str, Any]], bare: str, name: str) -> dict[str, Any]:
    """The throughput ratio over the repetitions in which neither side of the pair lost CPU to the host."""
    quiet = [r["ratio"][name] for r in runs if is_quiet(r[bare]) and is_quiet(r[name])]
    return {"pairs": len(quiet), "median": statistics.median(quiet) if quiet else None}


# Every limit on (gate, concurrency counting, queue-rule lookup) but set where nothing is refused.
UNREACHABLE_LIMITS = {
    "limits": {
        "queue": {"jobs_per_worker": 1_000_000},
        "run": {"rate": 1_000_000_000, "concurrency": 1_000_000},
        "health": {"rate": 1_000_000_000, "concurrency": 1_000_000},
    }
}


def rss_flatness(emulator: Server, script: Path, seconds: int) -> dict[str, Any]:
    env = {**emulator.client_env, "PODBENCH_BENCH_RATE": str(RSS_RATE)}
    samples: list[tuple[float, int]] = []
    start, ticks = time.perf_counter(), cpu_ticks()
    proc = start_wrk(
        emulator.url + f"/v2/{ENDPOINT}/run", script, seconds, env=env, connections=RSS_CONNECTIONS
    )
    interval = max(1.0, seconds / 60)
    while proc.poll() is None:
        samples.append((time.perf_counter() - start, emulator.rss_kib()))
        time.sleep(interval)
    result = collect_wrk(proc)
    steal = steal_since(ticks)
    samples.append((time.perf_counter() - start, emulator.rss_kib()))
    stats = control(emulator, "GET", f"/_emulator/endpoints/{ENDPOINT}/stats")
    settled = next(kib for t, kib in samples if t >= seconds / 5)
    tail = statistics.median(kib for t, kib in samples[-max(3, len(samples) // 10) :])
    return {
        "seconds": seconds,
        "target_rps": RSS_RATE,
        "steal": steal,
        "rps": result["rps"],
        "p99_ms": result["p99_ms"],
        "non2xx": result["non2xx"],
        "rss_start_mib": samples[0][1] / 1024,
        "rss_settled_mib": settled / 1024,
        "rss_end_mib": tail / 1024,
        "growth_after_settle": tail / settled - 1,
        "emulator_stats": stats,
        "samples": samples,
    }


def control(server: Server, method: str, path: str, body: Any = None) -> Any:
    """A call to the emulator's control API; failures come back as {"unavailable": reason}."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {server.admin_key}", "Content-Type": "application/json"}
    request = urllib.request.Request(server.url + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return json.loads(resp.read())
    except (OSError, ValueError) as exc:
        return {"unavailable": str(exc)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Emulator vs bare aiohttp: throughput, RSS, limiter accuracy."
    )
    parser.add_argument(
        "--quick", action="store_true", help="2 short repetitions, 30 s RSS and accuracy runs"
    )
    parser.add_argument("--skip", action="append", default=[], choices=["throughput", "rss", "accuracy"])
    parser.add_argument(
        "--route", action="append", choices=list(ROUTES), help="measure only this route (repeatable)"
    )
    parser.add_argument(
        "--quiet-retries",
        type=int,
        default=2,
        help="run a measurement again, at most this many times, while the host steals >= 1 %% CPU (default 2)",
    )
    parser.add_argument(
        "--reps", type=int, help="throughput repetitions per route (default 5, 2 with --quick)"
    )
    args = parser.parse_args()
    reps, seconds = (2, 5) if args.quick else (5, 10)
    if args.reps is not None:
        if args.reps < 1:
            parser.error("--reps must be at least 1")
        reps = args.reps
    if args.quiet_retries < 0:
        parser.error("--quiet-retries must be 0 or more")
    routes = args.route or list(ROUTES)
    rss_seconds, accuracy_seconds = (30, 30) if args.quick else (300, 60)
    ensure_wrk()
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    report: dict[str, Any] = {"quick": args.quick, "started": stamp, "cpu_count": os.cpu_count()}
    api_key, admin_key = "pb-" + secrets.token_urlsafe(18), "pb-admin-" + secrets.token_urlsafe(18)
    with tempfile.TemporaryDirectory(prefix="podbench-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        scripts = {"health": tmp / "get.lua", "run": tmp / "post.lua", "paced": tmp / "paced.lua"}
        for name, text in (("health", GET_LUA), ("run", POST_LUA), ("paced", PACED_LUA)):
            scripts[name].write_text(text + DONE_LUA)
        emu_cmd = emulator_command("--host", "127.0.0.1", "--port", "0", "--endpoint-id", ENDPOINT)
        bare_cmd = [sys.executable, str(ROOT / "bench" / "bare_app.py"), "--port", "0"]
        keys = {"api_key": api_key, "admin_key": admin_key}
        if "throughput" not in args.skip or "rss" not in args.skip:
            with (
                Server("emulator", [*emu_cmd, "--rate-limits", "off"], tmp, cpu=0, **keys) as emulator,
                Server("bare", bare_cmd, tmp, cpu=0, **keys) as bare,
                Server("emulator+limits", emu_cmd, tmp, cpu=0, **keys) as limited,
            ):
                control(limited, "PATCH", f"/_emulator/endpoints/{ENDPOINT}", UNREACHABLE_LIMITS)
                if "throughput" not in args.skip:
                    print(
                        f"throughput: {reps} interleaved repetitions x {seconds} s per route and server",
                        flush=True,
                    )
                    report["throughput"] = throughput(
                        [bare, emulator, limited], scripts, reps, seconds, routes, args.quiet_retries
                    )
                if "rss" not in args.skip:
                    print(f"rss: paced POST /run for {rss_seconds} s", flush=True)
                    report["rss"] = rss_flatness(emulator, scripts["paced"], rss_seconds)
        if "accuracy" not in args.skip:
            print(
                f"accuracy: sliding window 1000 / 10 s on /run, offered 200 req/s for {accuracy_seconds} s",
                flush=True,
            )
            with Server("emulator-limited", emu_cmd, tmp, cpu=0, **keys) as limited:
                report["accuracy"] = asyncio.run(accuracy_run(limited, ENDPOINT, accuracy_seconds))
    report["loadavg"] = list(os.getloadavg())
    out = OUT / f"emulator_throughput-{stamp}.json"
    out.write_text(json.dumps(report, indent=1))
    print()
    print(format_table(report, GOALS, P99_GOAL_MS, RSS_GOAL))
    print(f"\nfull results: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: build the report of a synthetic 1,000,000-request run; goal <= 15 s and <= 2 GB.

Writes a result folder in the documented format (docs/results-format.md: manifest, summary,
1-second intervals, per-interval HDR histograms, health timeline, sampled jobs.csv, a small
conformance.json), then times `reports.build_report` on it in fresh child processes (imports
included) and prints the median wall time and the peak RSS next to the goals, with reading the
folder alone measured side by side as the reference.

    python bench/report_build.py [--requests 1000000] [--seconds 600] [--repeats 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from hdrh.histogram import HdrHistogram

GOAL_SECONDS = 15.0
GOAL_RSS_MB = 2048.0
MIX = {"run": 0.30, "status": 0.50, "runsync": 0.15, "health": 0.05}
MEDIAN_MS = {"run": 25.0, "status": 8.0, "runsync": 900.0, "health": 4.0}


def _histogram(values_us: np.ndarray) -> str:
    hist = HdrHistogram(1, 3_600_000_000, 3)
    unique, counts = np.unique(np.clip(values_us, 1, 3_600_000_000).astype(np.int64), return_counts=True)
    for value, count in zip(unique.tolist(), counts.tolist(), strict=True):
        hist.record_value(value, count)
    encoded: bytes = hist.encode()
    return encoded.decode("ascii")


def write_synthetic_run(root: Path, requests: int, seconds: int, seed: int = 7) -> None:
    """A plausible mixed run: lognormal latencies, a 429 burst, a queue that grows then drains."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    per_second = requests / seconds
    interval_rows = [
        "t,op,requests,failures,rate_limited,timeouts,late_sends,offered,p50_ms,p90_ms,p95_ms,p99_ms,max_ms,"
        "status_2xx,status_4xx,status_429,status_5xx,status_other"
    ]
    totals = {op: {"requests": 0, "failures": 0, "rate_limited": 0, "timeouts": 0} for op in MIX}
    with (root / "histograms.jsonl").open("w") as hist_file:
        for t in range(seconds):
            for op, share in MIX.items():
                n = int(rng.poisson(per_second * share))
                if n == 0:
                    continue
                latency_ms = rng.lognormal(np.log(MEDIAN_MS[op]), 0.5, n)
                limited = int(rng.binomial(n, 0.08 if 200 <= t < 230 else 0.001))
                timeouts = int(rng.binomial(n, 0.0005))
                errors5 = int(rng.binomial(n, 0.0005))
                ok = n - limited - timeouts - errors5
                p = np.percentile(latency_ms, [50, 90, 95, 99, 100])
                interval_rows.append(
                    f"{t},{op},{n},{limited + timeouts + errors5},{limited},{timeouts},0,{n},"
                    f"{p[0]:.3f},{p[1]:.3f},{p[2]:.3f},{p[3]:.3f},{p[4]:.3f},{ok},0,{limited},{errors5},{timeouts}"
                )
                for key, value in (
                    ("requests", n),
                    ("failures", limited + timeouts + errors5),
                    ("rate_limited", limited),
                    ("timeouts", timeouts),
                ):
                    totals[op][key] += value
                us = latency_ms * 1000.0
                corrected = us + rng.exponential(200.0, n)
                for metric, values in (("latency", us), ("corrected_latency", corrected)):
                    hist_file.write(
                        json.dumps({"t": float(t), "op": op, "metric": metric, "hdr": _histogram(values)})
                        + "\n"
                    )
                if op == "run":
                    delay = rng.lognormal(np.log(300.0 if t < seconds / 2 else 80.0), 0.7, n) * 1000
                    execution = rng.lognormal(np.log(1500.0), 0.3, n) * 1000
                    for metric, values in (
                        ("delay_time", delay),
                        ("execution_time", execution),
                        ("end_to_end", delay + execution + 50_000),
                    ):
                        hist_file.write(
                            json.dumps({"t": float(t), "op": op, "metric": metric, "hdr": _histogram(values)})
                            + "\n"
                        )
    (root / "intervals.csv").write_text("\n".join(interval_rows) + "\n")
    health = [
        "t,in_queue,in_progress,completed,failed,retried,idle,initializing,ready,running,throttled,unhealthy,latency_ms,status"
    ]
    for t in range(seconds):
        queue = int(max(0.0, 40 * np.sin(np.pi * t / seconds)) + rng.integers(0, 5))
        health.append(
            f"{t},{queue},{8},{t * 80},{t // 50},{t // 200},{max(0, 2 - queue // 10)},0,{max(0, 2 - queue // 10)},{8},0,0,{rng.uniform(2, 6):.2f},200"
        )
    (root / "health.csv").write_text("\n".join(health) + "\n")
    jobs_n = min(100_000, int(requests * MIX["run"]))
    delay = rng.lognormal(np.log(200.0), 0.7, jobs_n)
    execution = rng.lognormal(np.log(1500.0), 0.3, jobs_n)
    with (root / "jobs.csv").open("w") as jobs_file:
        jobs_file.write("id,submitted_t,final_status,delay_time_ms,execution_time_ms,end_to_end_ms,polls\n")
        for i in range(jobs_n):
            jobs_file.write(
                f"job-{i},{i * seconds / jobs_n:.3f},COMPLETED,{delay[i]:.1f},{execution[i]:.1f},{delay[i] + execution[i] + 50:.1f},3\n"
            )
    operations = {
        op: {
            **totals[op],
            "offered_rps": totals[op]["requests"] / seconds,
            "achieved_rps": totals[op]["requests"] / seconds,
            "late_sends": 0,
            "dropped_sends": 0,
        }
        for op in MIX
    }
    summary = {
        "operations": operations,
        "total": {
            k: sum(o[k] for o in totals.values())
            for k in ("requests", "failures", "rate_limited", "timeouts")
        },
        "jobs": {
            "submitted": int(requests * MIX["run"]),
            "completed": int(requests * MIX["run"]),
            "failed": 0,
            "cancelled": 0,
            "timed_out": 0,
        },
    }
    (root / "summary.json").write_text(json.dumps(summary))
    manifest = {
        "podbench_version": "0.1.0",
        "kind": ["load", "conformance"],
        "profile": "synthetic-1m",
        "target": {
            "base_url": "http://127.0.0.1:8000/v2",
            "endpoint_id": "bench",
            "api_key": "<from $RUNPOD_API_KEY, redacted>",
            "embedded_emulator": True,
        },
        "started": "2026-11-28T12:00:00.000Z",
        "ended": f"2026-11-28T12:{seconds // 60:02d}:{seconds % 60:02d}.000Z",
        "interrupted": False,
        "machine": {"hostname": "bench", "cpus": 2, "python": sys.version.split()[0]},
        "versions": {"podbench": "0.1.0"},
        "seed": seed,
        "generator": {"cpu_warning": False, "max_schedule_lag_ms": 2.5, "warnings": []},
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    claims = [
        {
            "id": f"claim.{i}",
            "kind": "documented",
            "source": "https://docs.runpod.io/serverless/endpoints/operations",
            "quote": "Results are kept 30 minutes.",
            "outcome": "violated" if i == 3 else "passed",
            "tests": [f"test_{i}"],
            "measured": {"value": i},
            "excerpt": "GET /status -> 404" if i == 3 else None,
        }
        for i in range(40)
    ]
    (root / "conformance.json").write_text(json.dumps({"summary": {}, "claims": claims}))


CHILD = """
import resource, sys, time
t0 = time.perf_counter()
if sys.argv[2] == "report":
    from reports import build_report
    build_report(sys.argv[1])
else:
    from reports.folder import read_folder
    read_folder(sys.argv[1])
print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
"""


def measure(root: Path, what: str) -> tuple[float, float]:
    """(seconds, peak RSS MB) of one fresh interpreter doing `what` (imports included)."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), what], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    seconds, rss_mb = (float(x) for x in out.stdout.split())
    return seconds, rss_mb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write the synthetic folder here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="podbench-report-bench-") as tmp:
        root = args.keep or Path(tmp) / "run"
        started = time.perf_counter()
        write_synthetic_run(root, args.requests, args.seconds)
        size_mb = sum(f.stat().st_size for f in root.iterdir()) / 1e6
        print(
            f"synthetic run: {args.requests:,} requests over {args.seconds} s, {size_mb:.1f} MB on disk, "
            f"written in {time.perf_counter() - started:.1f} s"
        )
        builds, reads = [], []
        for _ in range(args.repeats):  # interleaved, so drift on the shared host hits both
            builds.append(measure(root, "report"))
            reads.append(measure(root, "read"))
        build_s = statistics.median(s for s, _ in builds)
        read_s = statistics.median(s for s, _ in reads)
        rss_mb = max(r for _, r in builds)
        report_mb = (root / "report.html").stat().st_size / 1e6
        print(
            f"report build: median {build_s:.2f} s, worst {max(s for s, _ in builds):.2f} s of {args.repeats} "
            f"(goal <= {GOAL_SECONDS:.0f} s: {build_s / GOAL_SECONDS:.0%} of budget)"
        )
        print(
            f"  side by side: reading the folder alone (pandas + HDR merge) {read_s:.2f} s; "
            f"report / read = {build_s / read_s:.1f}x"
        )
        print(
            f"peak RSS:     {rss_mb:.0f} MB (goal <= {GOAL_RSS_MB:.0f} MB: {rss_mb / GOAL_RSS_MB:.0%} of budget)"
        )
        print(f"report.html:  {report_mb:.2f} MB")
        result = {
            "requests": args.requests,
            "seconds": args.seconds,
            "folder_mb": size_mb,
            "build_s": [s for s, _ in builds],
            "read_s": [s for s, _ in reads],
            "peak_rss_mb": rss_mb,
            "report_mb": report_mb,
        }
        out_dir = Path(__file__).parent / "out"
        out_dir.mkdir(exist_ok=True)
        (out_dir / "report_build.json").write_text(json.dumps(result, indent=2))
        return 0 if build_s <= GOAL_SECONDS and rss_mb <= GOAL_RSS_MB else 1


if __name__ == "__main__":
    raise SystemExit(main())

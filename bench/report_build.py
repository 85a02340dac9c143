"""Benchmark: build the report of a synthetic 1,000,000-request run; goal <= 15 s and <= 2 GB.
With --day: a synthetic day (86,400 s, 8 operations, 100 req/s); goal <= 15 s and <= 1 GB.

Writes a result folder in the documented format (docs/results-format.md: manifest, summary,
1-second intervals, per-interval HDR histograms, health timeline, sampled jobs.csv, a small
conformance.json), then times `reports.build_report` on it in fresh child processes (imports
included) and prints the median wall time and the peak RSS next to the goals, with reading the
folder alone measured side by side as the reference.

The day case writes the day twice: with histograms.jsonl as the load suite writes it now (one
line per 24 s past an hour) and with one line per second (folders written before that). It times
the report of the first against the goals and, before/after, the report of the per-second folder
with the former reader (hdrh's decode_and_add per line) and the current one; all three must merge
to the same histograms (checked, exit 1 otherwise).

    python bench/report_build.py [--requests 1000000] [--seconds 600] [--repeats 3] [--keep DIR]
    python bench/report_build.py --day [--repeats 3] [--no-before]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from hdrh.histogram import HdrHistogram

GOAL_SECONDS = 15.0
GOAL_RSS_MB = 2048.0
DAY_GOAL_RSS_MB = 1024.0
DAY_SECONDS = 86_400
DAY_RPS = 100.0
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
        "ended": (datetime(2026, 11, 28, 12, tzinfo=UTC) + timedelta(seconds=seconds))
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
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
sys.path.insert(0, sys.argv[3])
t0 = time.perf_counter()
import reports.folder
seen = []
reader = reports.folder.read_histograms
if sys.argv[2] == "report-former":
    from report_long_run import former_read_histograms as reader
def keep(path, notes):
    seen.append(reader(path, notes))
    return seen[-1]
reports.folder.read_histograms = keep
if sys.argv[2].startswith("report"):
    from reports import build_report
    build_report(sys.argv[1])
else:
    reports.folder.read_folder(sys.argv[1])
print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
from report_long_run import digest_of
print(digest_of(seen[0] if seen else None))
"""


def measure_with_digest(root: Path, what: str) -> tuple[float, float, str]:
    """(seconds, peak RSS MB, digest of the merged histograms) of one fresh interpreter doing `what`."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), what, str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    timing, digest = out.stdout.splitlines()[:2]
    seconds, rss_mb = (float(x) for x in timing.split())
    return seconds, rss_mb, digest


def measure(root: Path, what: str) -> tuple[float, float]:
    """(seconds, peak RSS MB) of one fresh interpreter doing `what` (imports included)."""
    seconds, rss_mb, _ = measure_with_digest(root, what)
    return seconds, rss_mb


def _folder_mb(root: Path) -> float:
    return sum(f.stat().st_size for f in root.iterdir() if f.name != "report.html") / 1e6


def day_case(repeats: int, before: bool, keep: Path | None) -> int:
    """The 24-hour run: goals on the folder as written now; before/after on per-second histograms."""
    from report_long_run import write_day_run

    from locustfiles._writers import histogram_span_s

    with tempfile.TemporaryDirectory(prefix="podbench-report-day-") as tmp:
        base = keep or Path(tmp)
        span = histogram_span_s(DAY_SECONDS)
        now, per_second = base / "day", base / "day-per-second"
        started = time.perf_counter()
        requests = write_day_run(now, span, DAY_SECONDS, DAY_RPS)
        write_day_run(per_second, 1, DAY_SECONDS, DAY_RPS)
        lines = {p: sum(1 for _ in (p / "histograms.jsonl").open()) for p in (now, per_second)}
        print(
            f"synthetic day: {requests:,} requests over {DAY_SECONDS:,} s, 8 operations; written in "
            f"{time.perf_counter() - started:.0f} s\n"
            f"  as written now: histograms every {span} s, {lines[now]:,} lines, {_folder_mb(now):.0f} MB\n"
            f"  per second (older folders): {lines[per_second]:,} lines, {_folder_mb(per_second):.0f} MB"
        )
        builds = [measure_with_digest(now, "report") for _ in range(repeats)]
        build_s = statistics.median(s for s, _, _ in builds)
        rss_mb = max(r for _, r, _ in builds)
        print(
            f"report of the day as written now: median {build_s:.2f} s, worst "
            f"{max(s for s, _, _ in builds):.2f} s of {repeats} (goal <= {GOAL_SECONDS:.0f} s: "
            f"{build_s / GOAL_SECONDS:.0%} of budget); peak RSS {rss_mb:.0f} MB "
            f"(goal <= {DAY_GOAL_RSS_MB:.0f} MB: {rss_mb / DAY_GOAL_RSS_MB:.0%})"
        )
        after = measure_with_digest(per_second, "report")
        digests = {builds[0][2], after[2]}
        print(f"report of the per-second day, current reader: {after[0]:.2f} s, peak RSS {after[1]:.0f} MB")
        result: dict[str, object] = {
            "seconds": DAY_SECONDS,
            "requests": requests,
            "span_s": span,
            "lines": {"now": lines[now], "per_second": lines[per_second]},
            "build_s": [s for s, _, _ in builds],
            "peak_rss_mb": rss_mb,
            "per_second_current_s": after[0],
            "per_second_current_rss_mb": after[1],
        }
        if before:
            former = measure_with_digest(per_second, "report-former")
            digests.add(former[2])
            print(
                f"report of the per-second day, former reader (decode_and_add per line): {former[0]:.2f} s, "
                f"peak RSS {former[1]:.0f} MB\n"
                f"  side by side: former / current reader = {former[0] / after[0]:.1f}x on the same folder; "
                f"former on per-second / current on the day as written now = {former[0] / build_s:.1f}x"
            )
            result.update(per_second_former_s=former[0], per_second_former_rss_mb=former[1])
        same = len(digests) == 1
        print(
            "merged histograms (count, max, p50/p99/p99.9 per operation and metric): "
            + ("identical across every folder and reader" if same else "DIFFER")
        )
        result["identical_merges"] = same
        out_dir = Path(__file__).parent / "out"
        out_dir.mkdir(exist_ok=True)
        (out_dir / "report_build_day.json").write_text(json.dumps(result, indent=2))
        return 0 if same and build_s <= GOAL_SECONDS and rss_mb <= DAY_GOAL_RSS_MB else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="write the synthetic folder here and keep it")
    parser.add_argument("--day", action="store_true", help="the 24-hour case (8 operations, 100 req/s)")
    parser.add_argument("--no-before", action="store_true", help="--day: skip the former reader (~2 min)")
    args = parser.parse_args()
    if args.day:
        return day_case(args.repeats, not args.no_before, args.keep)
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

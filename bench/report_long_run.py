"""The long-run case of report_build.py: a synthetic day (86,400 s, 8 operations, 100 req/s).

Writing a day of per-second histograms one by one would take minutes, so each (operation,
metric) draws its per-second histograms from a pool of distinct ones (same shapes and sizes as
real ones: a few to a few dozen values per second); the interval rows are computed from the
histogram each second uses, so every file of the folder agrees with the others.

Also here: the former reader (hdrh's `decode_and_add` per line), kept as the "before" of the
before/after, and a digest of merged histograms so both readers can be shown to agree exactly.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

DAY_MIX = {
    "run": 0.20,
    "runsync": 0.10,
    "status": 0.30,
    "stream": 0.10,
    "cancel": 0.05,
    "retry": 0.05,
    "health": 0.15,
    "openai": 0.05,
}
DAY_MEDIAN_MS = {
    "run": 25.0,
    "runsync": 900.0,
    "status": 8.0,
    "stream": 40.0,
    "cancel": 12.0,
    "retry": 15.0,
    "health": 4.0,
    "openai": 600.0,
}
JOB_OPS = ("run", "runsync")
POOL = 128


def _encode(values_us: np.ndarray) -> str:
    hist = HdrHistogram(1, 3_600_000_000, 3)
    unique, counts = np.unique(np.clip(values_us, 1, 3_600_000_000).astype(np.int64), return_counts=True)
    for value, count in zip(unique.tolist(), counts.tolist(), strict=True):
        hist.record_value(value, count)
    encoded: bytes = hist.encode()
    return encoded.decode("ascii")


def _pool(rng: np.random.Generator, op: str, mean_n: float) -> list[dict[str, Any]]:
    """POOL distinct seconds of one operation: n requests, their histograms and interval figures."""
    entries = []
    for _ in range(POOL):
        n = max(1, int(rng.poisson(mean_n)))
        latency = rng.lognormal(np.log(DAY_MEDIAN_MS[op]), 0.5, n)
        us = latency * 1000.0
        p = np.percentile(latency, [50, 90, 95, 99, 100])
        blobs = {"latency": _encode(us), "corrected_latency": _encode(us + rng.exponential(200.0, n))}
        if op in JOB_OPS:
            delay = rng.lognormal(np.log(120.0), 0.7, n) * 1000
            execution = rng.lognormal(np.log(1500.0), 0.3, n) * 1000
            blobs.update(
                delay_time=_encode(delay),
                execution_time=_encode(execution),
                end_to_end=_encode(delay + execution + 50_000),
            )
        entries.append({"n": n, "p": [f"{x:.3f}" for x in p], "hdr": blobs, "sparse": _sparse(blobs)})
    return entries


def _sparse(blobs: dict[str, str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(indexes, counts) of each histogram's non-zero counters, to add seconds up quickly."""
    out = {}
    for metric, blob in blobs.items():
        hist = HdrHistogram.decode(blob)
        counts = np.ctypeslib.as_array(hist.counts)[: hist.counts_len]
        index = np.flatnonzero(counts)
        out[metric] = (index, counts[index].copy())
    return out


def _rolled_up(entries: list[dict[str, Any]], metric: str) -> str:
    """The encoding of several seconds' histograms added together (what a wider line holds)."""
    hist = HdrHistogram(1, 3_600_000_000, 3)
    counts = np.ctypeslib.as_array(hist.counts)[: hist.counts_len]
    for entry in entries:
        index, values = entry["sparse"][metric]
        counts[index] += values
    nonzero = np.flatnonzero(counts)
    hist.set_internal_tacking_values(int(nonzero[0]), int(nonzero[-1]), int(counts.sum()))
    encoded: bytes = hist.encode()
    return encoded.decode("ascii")


def write_day_run(
    root: Path, span_s: int = 1, seconds: int = 86_400, rps: float = 100.0, seed: int = 11
) -> int:
    """Write the folder, one histograms.jsonl line per `span_s` seconds; return its request count.

    The same seed gives the same requests whatever `span_s`: the files differ only in how finely
    histograms.jsonl slices them, so every span must merge to the same histograms.
    """
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    pools = {op: _pool(rng, op, rps * share) for op, share in DAY_MIX.items()}
    picks = {op: rng.integers(0, POOL, seconds) for op in DAY_MIX}
    totals = {op: {"requests": 0, "failures": 0, "rate_limited": 0, "timeouts": 0} for op in DAY_MIX}
    rows = [
        "t,op,requests,failures,rate_limited,timeouts,late_sends,offered,p50_ms,p90_ms,p95_ms,p99_ms,max_ms,"
        "status_2xx,status_4xx,status_429,status_5xx,status_other"
    ]
    with (root / "histograms.jsonl").open("w") as hist_file:
        for t in range(seconds):
            burst = 3600 <= t < 3630
            for op in DAY_MIX:
                entry = pools[op][picks[op][t]]
                n = entry["n"]
                limited = n // 10 if burst else 0
                p = entry["p"]
                rows.append(
                    f"{t},{op},{n},{limited},{limited},0,0,{n},{p[0]},{p[1]},{p[2]},{p[3]},{p[4]},"
                    f"{n - limited},0,{limited},0,0"
                )
                totals[op]["requests"] += n
                totals[op]["failures"] += limited
                totals[op]["rate_limited"] += limited
            if (t + 1) % span_s and t + 1 < seconds:
                continue
            start = t - t % span_s
            for op in DAY_MIX:
                entries = [pools[op][k] for k in picks[op][start : t + 1]]
                for metric, blob in entries[0]["hdr"].items():
                    if span_s > 1:
                        blob = _rolled_up(entries, metric)
                    # the spelling json.dumps gives, as the load suite writes it
                    hist_file.write(
                        f'{{"t": {start}.0, "dt": {span_s}.0, "op": "{op}", "metric": "{metric}", "hdr": "{blob}"}}\n'
                    )
    (root / "intervals.csv").write_text("\n".join(rows) + "\n")
    health = [
        "t,in_queue,in_progress,completed,failed,retried,idle,initializing,ready,running,throttled,unhealthy,latency_ms,status"
    ]
    for t in range(seconds):
        queue = int(max(0.0, 40 * np.sin(np.pi * t / seconds)))
        idle = max(0, 2 - queue // 10)
        health.append(f"{t},{queue},6,{t * 30},{t // 500},{t // 2000},{idle},0,{idle},6,0,0,3.1,200")
    (root / "health.csv").write_text("\n".join(health) + "\n")
    with (root / "jobs.csv").open("w") as jobs_file:
        jobs_file.write("id,submitted_t,final_status,delay_time_ms,execution_time_ms,end_to_end_ms,polls\n")
        delay = rng.lognormal(np.log(120.0), 0.7, 100_000)
        execution = rng.lognormal(np.log(1500.0), 0.3, 100_000)
        for i in range(100_000):
            jobs_file.write(
                f"job-{i},{i * seconds / 100_000:.3f},COMPLETED,{delay[i]:.1f},{execution[i]:.1f},"
                f"{delay[i] + execution[i] + 50:.1f},3\n"
            )
    requests = sum(o["requests"] for o in totals.values())
    jobs = sum(totals[op]["requests"] for op in JOB_OPS)
    summary = {
        "operations": {
            op: {**c, "offered_rps": c["requests"] / seconds, "achieved_rps": c["requests"] / seconds}
            for op, c in totals.items()
        },
        "total": {k: sum(o[k] for o in totals.values()) for k in ("requests", "failures", "rate_limited")},
        "jobs": {"submitted": jobs, "completed": jobs, "failed": 0, "cancelled": 0, "timed_out": 0},
    }
    (root / "summary.json").write_text(json.dumps(summary))
    started = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    manifest = {
        "podbench_version": "0.1.0",
        "kind": ["load"],
        "profile": "synthetic-day",
        "target": {
            "base_url": "http://127.0.0.1:8000/v2",
            "endpoint_id": "bench",
            "api_key": "<from $RUNPOD_API_KEY, redacted>",
            "embedded_emulator": True,
        },
        "started": started.isoformat().replace("+00:00", "Z"),
        "ended": (started + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z"),
        "interrupted": False,
        "machine": {"hostname": "bench", "cpus": 2, "python": sys.version.split()[0]},
        "versions": {"podbench": "0.1.0"},
        "seed": seed,
    }
    (root / "manifest.json").write_text(json.dumps(manifest))
    return requests


def former_read_histograms(path: Path, notes: list[str]) -> Any:
    """The reader before the fast merge: json.loads and hdrh's decode_and_add for every line."""
    from reports.hdr import HistogramSet, new_histogram

    merged: dict[tuple[str, str], HdrHistogram] = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                key = (str(row["op"]), str(row["metric"]))
                target = merged.get(key)
                if target is None:
                    target = merged[key] = new_histogram()
                target.decode_and_add(row["hdr"])
    return HistogramSet(merged) if merged else None


def digest_of(histograms: Any) -> str:
    """Count, max and p50/p99/p99.9 of every merged histogram: equal digests, equal merges."""
    parts = []
    for (op, metric), hist in sorted((histograms.merged if histograms else {}).items()):
        points = hist.get_percentile_to_value_dict([50.0, 99.0, 99.9])
        parts.append(
            f"{op}/{metric}:{hist.get_total_count()}:{hist.get_max_value()}:"
            + ",".join(str(points[p]) for p in (50.0, 99.0, 99.9))
        )
    return ";".join(parts)

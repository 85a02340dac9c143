"""Turn the merged measurements into the result folder's load files (docs/results-format.md)."""

from __future__ import annotations

import csv
import json
import math
import os
from collections import Counter
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from contract import results
from contract.results import machine, update_manifest, versions
from locustfiles._llm import is_llm_row
from locustfiles._llm_summary import llm_summary
from locustfiles._metrics import (
    JOB_METRICS,
    Aggregator,
    follow_up,
    is_follow_up,
    new_histogram,
    value_at_percentiles,
)
from locustfiles._plan import REQUEST_ROWS, Plan
from locustfiles._worker_seconds import worker_seconds

INTERVAL_COLUMNS = [*results.INTERVAL_COLUMNS, *results.LOAD_INTERVAL_EXTRA]
HEALTH_COLUMNS = list(results.HEALTH_COLUMNS)
JOB_COLUMNS = list(results.JOB_COLUMNS)
HISTOGRAM_LINES_PER_KEY = 3600
"""histograms.jsonl holds at most this many lines per (op, metric): the per-second percentiles are
in intervals.csv already, and a day of per-second histograms (1.9 million lines, 320 MB at 8
operations) took a report minutes to add up."""
REQUEST_COUNTERS = ("requests", "failures", "rate_limited", "timeouts", "late_sends", "dropped_sends")
FOLLOW_UP_COUNTERS = ("requests", "failures", "rate_limited", "timeouts")
CPU_WARN_PERCENT = 90.0


def histogram_span_s(run_seconds: int) -> int:
    """Seconds per histograms.jsonl line: 1 up to an hour, then the run's length / 3600, rounded up."""
    return max(1, math.ceil(run_seconds / HISTOGRAM_LINES_PER_KEY))


def iso(epoch: float) -> str:
    return results.utc_iso(epoch)


def _ms(us: float) -> float:
    return round(us / 1000.0, 3)


def percentiles(hist: HdrHistogram | None, prefix: str = "") -> dict[str, float | None]:
    names = {"p50_ms": 50.0, "p90_ms": 90.0, "p95_ms": 95.0, "p99_ms": 99.0, "p999_ms": 99.9}
    if hist is None or hist.get_total_count() == 0:
        return {f"{prefix}{k}": None for k in [*names, "max_ms"]}
    values = value_at_percentiles(hist, list(names.values()))
    out: dict[str, float | None] = {f"{prefix}{k}": _ms(values[p]) for k, p in names.items()}
    out[f"{prefix}max_ms"] = _ms(hist.get_max_value())
    return out


def short_percentiles(hist: HdrHistogram | None) -> dict[str, float | None]:
    if hist is None or hist.get_total_count() == 0:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    values = value_at_percentiles(hist, [50.0, 95.0, 99.0])
    pct = {f"p{p:.0f}": _ms(v) for p, v in values.items()}
    return {**pct, "max": _ms(hist.get_max_value())}


class ResultWriter:
    def __init__(
        self,
        plan: Plan,
        agg: Aggregator,
        out_dir: Path,
        ended: float,
        interrupted: bool,
        reason: str | None = None,
    ) -> None:
        self.plan = plan
        self.agg = agg
        self.out = out_dir
        self.start = agg.started if agg.started is not None else ended
        self.base = math.floor(self.start)
        self.ended = ended
        ran = ended - self.start if agg.started is not None else plan.duration_s
        self.duration = max(min(ran, plan.duration_s), 1e-3)
        self.interrupted = interrupted
        self.reason = reason
        """Why the run stopped early, when it stopped itself (e.g. "target unreachable since t=5.1 s")."""
        self.health_rows: list[dict[str, Any]] = []

    def write_all(self, health_rows: list[dict[str, Any]]) -> dict[str, Any]:
        self.out.mkdir(parents=True, exist_ok=True)
        self.health_rows = health_rows
        summary = self.summary()
        self._write_json("summary.json", summary)
        self.write_intervals()
        self.write_histograms()
        health = [{**row, "t": round(row["t"] - self.base, 3)} for row in health_rows]
        self.write_rows("health.csv", HEALTH_COLUMNS, health)
        jobs = [
            dict(zip(JOB_COLUMNS, [r[0], round(r[1] - self.start, 3), *r[2:]], strict=True))
            for r in self.agg.jobs
        ]
        self.write_rows("jobs.csv", JOB_COLUMNS, jobs)
        self.update_manifest(summary)
        return summary

    def _write_json(self, name: str, data: Any) -> None:
        tmp = self.out / f".{name}.tmp"
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.out / name)

    def _rate(self, count: float) -> float:
        return round(count / self.duration, 3)

    def _op_row(self, op: str) -> dict[str, Any]:
        """An operation's scheduled sends: achieved counts only them, so it compares with offered."""
        counts = self.agg.total(op)
        row: dict[str, Any] = {
            "offered_rps": self._rate(self.plan.offered(op, 0.0, self.duration)),
            "achieved_rps": self._rate(counts["requests"]),
        }
        row.update({name: counts[name] for name in REQUEST_COUNTERS})
        return self._with_codes_and_latency(row, op, counts, corrected=True)

    def _follow_up_row(self, row_name: str) -> dict[str, Any]:
        """The polls or reads made on one operation after a scenario's send: no schedule, no offer."""
        counts = self.agg.total(row_name)
        row: dict[str, Any] = {"achieved_rps": self._rate(counts["requests"])}
        row.update({name: counts[name] for name in FOLLOW_UP_COUNTERS})
        return self._with_codes_and_latency(row, row_name, counts, corrected=False)

    def _with_codes_and_latency(
        self, row: dict[str, Any], name: str, counts: Counter[str], *, corrected: bool
    ) -> dict[str, Any]:
        codes = {k.split(":", 1)[1]: n for k, n in counts.items() if k.startswith("code:")}
        row["status_codes"] = dict(sorted(codes.items()))
        seconds = self.agg.seconds()
        row.update(percentiles(self.agg.run_histogram(name, "latency", seconds)))
        if corrected:
            row.update(percentiles(self.agg.run_histogram(name, "corrected_latency", seconds), "corrected_"))
        return row

    def flows(self) -> dict[str, Any]:
        """Each flow's scheduled sends against its own offered rate (several flows may share an op)."""
        out: dict[str, Any] = {}
        for name, flow in self.plan.flows.items():
            offered = sum(
                max(0.0, min(end, self.duration) - start) * rate
                for start, end, rate in self.plan.segments(name)
            )
            sent = self.agg.total(flow.submit_op)[f"flow:{name}"]
            out[name] = {
                "op": flow.submit_op,
                # a fixed-concurrency flow offers no rate: the target sets its pace
                "offered_rps": None if flow.concurrency else self._rate(offered),
                "achieved_rps": self._rate(sent),
                "requests": sent,
                **({"concurrency": flow.concurrency} if flow.concurrency else {}),
            }
        return out

    def summary(self) -> dict[str, Any]:
        seen = set(self.agg.ops())
        operations = {
            op: self._op_row(op)
            for op in REQUEST_ROWS
            if self.plan.offered(op, 0.0, self.duration) > 0
            or any(self.agg.total(op)[k] for k in ("requests", "dropped_sends"))
        }
        follow_ups = {
            follow_up(op): self._follow_up_row(follow_up(op)) for op in REQUEST_ROWS if follow_up(op) in seen
        }
        rows = [*operations.values(), *follow_ups.values()]
        total: dict[str, Any] = {name: sum(r.get(name, 0) for r in rows) for name in REQUEST_COUNTERS}
        total["offered_rps"] = round(sum(r["offered_rps"] for r in operations.values()), 3)
        # like for like with offered_rps: scheduled sends only; `requests` counts follow-ups too
        total["achieved_rps"] = round(sum(r["achieved_rps"] for r in operations.values()), 3)
        total["follow_up_rps"] = round(sum(r["achieved_rps"] for r in follow_ups.values()), 3)
        all_codes: Counter[str] = Counter()
        for r in rows:
            all_codes.update(r["status_codes"])
        total["status_codes"] = dict(sorted(all_codes.items()))
        names = [*operations, *follow_ups]
        total.update(percentiles(self._across_ops(names, "latency")))
        total.update(percentiles(self._across_ops(names, "corrected_latency"), "corrected_"))
        return {
            "profile": self.plan.profile,
            "duration_s": round(self.duration, 3),
            "interrupted": self.interrupted,
            **({"interrupted_reason": self.reason} if self.reason else {}),
            "operations": operations,
            "follow_ups": follow_ups,
            "flows": self.flows(),
            "total": total,
            "jobs": self.jobs_summary(),
            "setup": dict(self.agg.setup),
            "generator": self.generator_summary(),
            **({"llm": llm} if (llm := llm_summary(self.plan, self.agg, self.duration, self.base)) else {}),
        }

    def _across_ops(self, ops: list[str], metric: str) -> HdrHistogram | None:
        merged: HdrHistogram | None = None
        for op in ops:
            hist = self.agg.run_histogram(op, metric, self.agg.seconds())
            if hist is None:
                continue
            if merged is None:
                merged = hist
            else:
                merged.add(hist)
        return merged

    def jobs_summary(self) -> dict[str, Any]:
        counts: Counter[str] = Counter()
        for c in self.agg.counts.values():
            counts.update({k: v for k, v in c.items() if k.startswith("jobs_") or k == "polls"})
        seconds = self.agg.seconds()
        hists = {metric: self._across_ops(self.agg.ops(), metric) for metric in JOB_METRICS}
        polled = counts["jobs_polled"]
        timeline = []
        for s in seconds:
            acc = sum(c["jobs_submitted"] for (sec, _), c in self.agg.counts.items() if sec == s)
            done = sum(c["jobs_completed"] for (sec, _), c in self.agg.counts.items() if sec == s)
            timeline.append([float(s - self.base), acc, done])
        return {
            "submitted": counts["jobs_submitted"],
            "completed": counts["jobs_completed"],
            "failed": counts["jobs_failed"],
            "cancelled": counts["jobs_cancelled"],
            "timed_out": counts["jobs_timed_out"],
            "unfinished": counts["jobs_unfinished"],
            "delay_time_ms": short_percentiles(hists["delay_time"]),
            "execution_time_ms": short_percentiles(hists["execution_time"]),
            "end_to_end_ms": short_percentiles(hists["end_to_end"]),
            "polls_per_job_mean": round(counts["polls"] / polled, 3) if polled else None,
            "first_chunk_ms": short_percentiles(hists["first_chunk"]),
            "chunk_gap_ms": short_percentiles(hists["chunk_gap"]),
            "accepted_completed_per_s": timeline,
            "worker_seconds": worker_seconds(self.health_rows),
        }

    def generator_summary(self) -> dict[str, Any]:
        nodes = self.agg.generator
        max_cpu = max((g.get("max_cpu_percent", 0.0) for g in nodes.values()), default=0.0)
        # saturated: at >= 90 % CPU for at least 2 s and a tenth of the samples (a spike is not)
        saturated = [
            node
            for node, g in nodes.items()
            if g.get("cpu_busy_seconds", 0) >= max(2, 0.1 * g.get("cpu_samples", 0))
        ]
        max_lag = max((g.get("max_schedule_lag_ms", 0.0) for g in nodes.values()), default=0.0)
        dropped = sum(self.agg.total(op)["dropped_sends"] for op in self.agg.ops())
        late = sum(self.agg.total(op)["late_sends"] for op in self.agg.ops())
        warnings = []
        if saturated:
            warnings.append(
                f"generator CPU was >= {CPU_WARN_PERCENT:.0f}% for a sustained time on {len(saturated)} "
                "process(es): the generator, not the target, may have limited this run "
                "(add --processes or machines)"
            )
        if max_lag > self.plan.late_ms:
            warnings.append(
                f"scheduler woke up to {max_lag:.1f} ms late on idle slots: the generator process (or its machine) was busy"
            )
        if dropped:
            warnings.append(
                f"{dropped} sends dropped: no free user within {self.plan.drop_ms:.0f} ms "
                "(raise the flow's slots, or the target is too slow for this rate)"
            )
        return {
            "cpu_warning": bool(saturated),
            "max_cpu_percent": round(max_cpu, 1),
            "max_schedule_lag_ms": round(max_lag, 3),
            "late_sends": late,
            "dropped_sends": dropped,
            "processes": nodes,
            "warnings": warnings,
        }

    def write_intervals(self) -> None:
        rows = []
        for (s, op), c in sorted(self.agg.counts.items()):
            if is_llm_row(op):
                continue  # token counts: summary.json's llm timeline; their histograms: histograms.jsonl
            t = float(s - self.base)
            lat = percentiles(self.agg.merged(s, op, "latency"))
            cor = percentiles(self.agg.merged(s, op, "corrected_latency"), "corrected_")
            offered = None if is_follow_up(op) else self.plan.offered(op, s - self.start, s + 1 - self.start)
            row: dict[str, Any] = {
                "t": t,
                "op": op,
                "offered": None if offered is None else round(offered, 3),
            }
            row.update({name: c[name] for name in REQUEST_COUNTERS})
            row.update({k: lat[k] for k in ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms")})
            row.update(
                {k: c[k] for k in ("status_2xx", "status_4xx", "status_429", "status_5xx", "status_other")}
            )
            row["corrected_p99_ms"] = cor["corrected_p99_ms"]
            rows.append(row)
        self.write_rows("intervals.csv", INTERVAL_COLUMNS, rows)

    def write_histograms(self) -> None:
        """One line per (interval, op, metric); past an hour the intervals widen (histogram_span_s)."""
        seconds = self.agg.seconds()
        span = histogram_span_s(seconds[-1] - seconds[0] + 1) if seconds else 1
        buckets: dict[tuple[int, str, str], list[str]] = {}
        for (s, op, metric), blobs in self.agg.hdr.items():
            start = (s - self.base) // span * span
            buckets.setdefault((start, op, metric), []).extend(blobs)
        tmp = self.out / ".histograms.jsonl.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            for (start, op, metric), blobs in sorted(buckets.items()):
                hist = new_histogram()
                for blob in blobs:
                    hist.decode_and_add(blob)
                line = {
                    "t": float(start),
                    "dt": float(span),
                    "op": op,
                    "metric": metric,
                    "hdr": hist.encode().decode("ascii"),
                }
                fh.write(json.dumps(line) + "\n")
        os.replace(tmp, self.out / "histograms.jsonl")

    def write_rows(self, name: str, columns: list[str], rows: list[dict[str, Any]]) -> None:
        tmp = self.out / f".{name}.tmp"
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        os.replace(tmp, self.out / name)

    def update_manifest(self, summary: dict[str, Any]) -> None:
        """The load part of manifest.json, written once at the end of the run (atomically)."""
        update_manifest(
            self.out,
            "load",
            {
                "podbench_version": versions("podbench").get("podbench", "unknown"),
                "profile": self.plan.profile,
                "started": iso(self.start),
                "ended": iso(self.ended),
                # this run's part replaces an earlier load run's in the same folder
                "interrupted": self.interrupted,
                **({"interrupted_reason": self.reason} if self.reason else {}),
                "seed": self.plan.seed,
                "versions": versions("podbench", "locust", "aiohttp", "hdrhistogram", "gevent"),
                "generator": {
                    k: summary["generator"][k] for k in ("cpu_warning", "max_schedule_lag_ms", "warnings")
                },
            },
            defaults={
                "target": self.plan.target or {"base_url": self.plan.base_url},
                "machine": machine(),
            },
        )

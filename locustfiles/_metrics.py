"""Per-second counters and HDR histograms per operation, drained as mergeable deltas.

Every process records into a `Recorder`. Closed seconds are drained as plain JSON-able data (counts
plus base64 HdrHistogram encodings), shipped to the master in distributed runs, and added into one
`Aggregator`, so merged counts are the exact sum of the workers' and merged percentiles are exact
to the histogram's 3 significant digits. No locust or gevent import: tested directly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hdrh.histogram import HdrHistogram

from contract.states import FINAL_COUNT_KEYS

LOWEST_US = 1
HIGHEST_US = 3600 * 1_000_000
DIGITS = 3
MAX_JOB_ROWS = 100_000

REQUEST_METRICS = ("latency", "corrected_latency")
FOLLOW_UP = "_follow_up"
"""Suffix of the row that holds an operation's follow-up calls (`status_follow_up`): the polls and
reads job scenarios make after their scheduled send, which no schedule asked for."""
JOB_METRICS = ("delay_time", "execution_time", "end_to_end", "first_chunk", "chunk_gap")
FINAL_STATES = FINAL_COUNT_KEYS


def follow_up(op: str) -> str:
    return op + FOLLOW_UP


def is_follow_up(row: str) -> bool:
    return row.endswith(FOLLOW_UP)


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


def value_at_percentiles(hist: HdrHistogram, percentiles: list[float]) -> dict[float, int]:
    """`get_value_at_percentile` for several percentiles in one numpy pass.

    hdrh walks its 23k buckets in Python for every call (~9 ms); a run writes one row per second
    per operation, so the writer would spend minutes there on a long run.
    """
    counts = np.ctypeslib.as_array(hist.counts)[: hist.encoder.payload.counts_len]
    cumulative = np.cumsum(counts, dtype=np.int64)
    out = {}
    for pct in percentiles:
        target = hist.get_target_count_at_percentile(pct)
        index = int(np.searchsorted(cumulative, target))
        if index >= len(cumulative):
            out[pct] = 0
            continue
        value = hist.get_value_from_index(index)
        out[pct] = (
            hist.get_highest_equivalent_value(value) if pct else hist.get_lowest_equivalent_value(value)
        )
    return out


def to_us(ms: float) -> int:
    return int(min(max(ms * 1000.0, LOWEST_US), HIGHEST_US))


def status_class(code: int) -> str:
    if code == 429:
        return "status_429"
    if 200 <= code < 300:
        return "status_2xx"
    if 400 <= code < 500:
        return "status_4xx"
    if 500 <= code < 600:
        return "status_5xx"
    return "status_other"


_FLOW_KEYS: dict[str, str] = {}
"""flow -> its `flow:NAME` counter (scheduled sends per flow), built once per flow."""
_STATUS_KEYS: dict[int, tuple[str, str]] = {}
"""status -> (its `code:NNN` counter, its status-class counter), built once per status seen."""


@dataclass
class _Cell:
    counts: Counter[str] = field(default_factory=Counter)
    hists: dict[str, HdrHistogram] = field(default_factory=dict)

    def record(self, metric: str, ms: float) -> None:
        hist = self.hists.get(metric)
        if hist is None:
            hist = self.hists[metric] = new_histogram()
        hist.record_value(to_us(ms))


class Recorder:
    """What one generator process saw, keyed by the whole epoch second of each send."""

    def __init__(self) -> None:
        self._cells: dict[tuple[int, str], _Cell] = {}
        self._last: dict[str, tuple[int, _Cell]] = {}
        self._jobs: list[list[Any]] = []
        self._job_rows_total = 0
        self.setup: Counter[str] = Counter()
        self.shipped: Counter[str] = Counter()
        """Running totals of everything drained so far, per `op:counter` (for merge checks)."""

    def _cell(self, t: float, op: str) -> _Cell:
        second = int(t)
        last = self._last.get(op)
        if last is not None and last[0] == second and (second, op) in self._cells:
            return last[1]  # the common case: same operation, same second as the previous call
        key = (second, op)
        cell = self._cells.get(key)
        if cell is None:
            cell = self._cells[key] = _Cell()
        self._last[op] = (second, cell)
        return cell

    def request(
        self,
        op: str,
        sent: float,
        intended: float | None,
        done: float,
        status: int,
        timeout: bool,
        flow: str | None = None,
    ) -> None:
        """One scheduled or follow-up request, counted in the second it finished.

        `intended` is None for unscheduled follow-ups (polls, stream reads): they are counted on
        their own row (`status_follow_up`), so an operation's row compares like with like, its
        scheduled sends with its offered rate. A scheduled send also counts for its `flow`.
        Every non-2xx request is a failure; 429s (`rate_limited`) and `timeouts` are subsets of
        `failures` (docs/results-format.md).
        """
        cell = self._cell(done, op if intended is not None else follow_up(op))
        counts = cell.counts
        counts["requests"] += 1
        if flow is not None:
            key = _FLOW_KEYS.get(flow)
            if key is None:
                key = _FLOW_KEYS[flow] = f"flow:{flow}"
            counts[key] += 1
        keys = _STATUS_KEYS.get(status)
        if keys is None:
            keys = _STATUS_KEYS[status] = (f"code:{status}", status_class(status))
        counts[keys[0]] += 1
        counts[keys[1]] += 1
        if not 200 <= status < 300:
            counts["failures"] += 1
            if timeout:
                counts["timeouts"] += 1
            elif status == 429:
                counts["rate_limited"] += 1
        hists = cell.hists
        if "latency" not in hists:
            hists["latency"], hists["corrected_latency"] = new_histogram(), new_histogram()
        start = sent if intended is None else min(intended, sent)
        hists["latency"].record_value(to_us((done - sent) * 1000.0))
        hists["corrected_latency"].record_value(to_us((done - start) * 1000.0))

    def count(self, t: float, op: str, name: str, n: int = 1) -> None:
        if n:
            self._cell(t, op).counts[name] += n

    def job_metric(self, t: float, op: str, metric: str, ms: float) -> None:
        self._cell(t, op).record(metric, ms)

    def job_final(self, t: float, op: str, row: list[Any], status: str) -> None:
        """A job reached a final state: count it by state and keep a sampled jobs.csv row."""
        self._cell(t, op).counts[f"jobs_{FINAL_STATES.get(status, 'other')}"] += 1
        self._job_rows_total += 1
        if self._job_rows_total <= MAX_JOB_ROWS:
            self._jobs.append(row)

    def setup_request(self, status: int, timeout: bool) -> None:
        self.setup["requests"] += 1
        self.setup[f"code:{status}"] += 1
        if not 200 <= status < 300:
            self.setup["failures"] += 1
            if timeout:
                self.setup["timeouts"] += 1
            elif status == 429:
                self.setup["rate_limited"] += 1

    def drain(self, before: float | None = None) -> dict[str, Any]:
        """Remove and encode the seconds that ended before `before` (all of them when None)."""
        keys = [k for k in self._cells if before is None or k[0] < int(before)]
        intervals = []
        for key in sorted(keys):
            cell = self._cells.pop(key)
            self.shipped.update({f"{key[1]}:{name}": n for name, n in cell.counts.items()})
            hdr = {metric: hist.encode().decode("ascii") for metric, hist in cell.hists.items()}
            intervals.append({"s": key[0], "op": key[1], "counts": dict(cell.counts), "hdr": hdr})
        jobs, self._jobs = self._jobs, []
        setup = dict(self.setup)
        self.setup.clear()
        return {"intervals": intervals, "jobs": jobs, "setup": setup}


@dataclass
class Aggregator:
    """All processes' drained data; histograms stay encoded until a writer merges one key."""

    counts: dict[tuple[int, str], Counter[str]] = field(default_factory=dict)
    totals: dict[str, Counter[str]] = field(default_factory=dict)
    """Running sums of `counts` per row (op), kept as deltas arrive: the live view reads them."""
    hdr: dict[tuple[int, str, str], list[str]] = field(default_factory=dict)
    jobs: list[list[Any]] = field(default_factory=list)
    setup: Counter[str] = field(default_factory=Counter)
    generator: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Latest generator-health report per process (node id)."""
    started: float | None = None
    """Earliest schedule start over all processes (epoch seconds)."""

    schedule_end: float | None = None
    """Latest end of any process's schedule (epoch seconds)."""

    latest: int | None = None
    """The latest (epoch) second any delta brought: how far the merged counts reach."""

    def add(self, payload: dict[str, Any]) -> None:
        end = payload.get("schedule_end")
        if end is not None and (self.schedule_end is None or end > self.schedule_end):
            self.schedule_end = float(end)
        node = str(payload.get("node", "local"))
        if payload.get("generator"):
            self.generator[node] = payload["generator"]
        start = payload.get("started")
        if start is not None and (self.started is None or start < self.started):
            self.started = float(start)
        for row in payload.get("intervals", ()):
            key = (int(row["s"]), str(row["op"]))
            self.counts.setdefault(key, Counter()).update(row["counts"])
            self.totals.setdefault(key[1], Counter()).update(row["counts"])
            if self.latest is None or key[0] > self.latest:
                self.latest = key[0]
            for metric, blob in row["hdr"].items():
                self.hdr.setdefault((key[0], key[1], metric), []).append(blob)
        room = MAX_JOB_ROWS - len(self.jobs)
        if room > 0:
            self.jobs.extend(payload.get("jobs", ())[:room])
        self.setup.update(payload.get("setup", {}))

    def merged(self, s: int, op: str, metric: str) -> HdrHistogram | None:
        blobs = self.hdr.get((s, op, metric))
        if not blobs:
            return None
        hist = new_histogram()
        for blob in blobs:
            hist.decode_and_add(blob)
        return hist

    def ops(self) -> list[str]:
        return sorted({op for _, op in self.counts})

    def seconds(self) -> list[int]:
        return sorted({s for s, _ in self.counts})

    def total(self, op: str) -> Counter[str]:
        return Counter(self.totals.get(op, ()))

    def run_histogram(self, op: str, metric: str, seconds: Iterable[int]) -> HdrHistogram | None:
        hist: HdrHistogram | None = None
        for s in seconds:
            for blob in self.hdr.get((s, op, metric), ()):
                if hist is None:
                    hist = new_histogram()
                hist.decode_and_add(blob)
        return hist

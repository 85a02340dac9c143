"""Merge the per-interval HDR histograms of histograms.jsonl and read percentiles from them.

Values are recorded in microseconds (1 us .. 1 h, 3 significant digits); adding every interval's
histogram of one (op, metric) gives the run's histogram exactly, so this is where p99.9 and the
percentile-distribution plot come from.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hdrh.histogram import HdrHistogram

from reports.hdr_merge import HistogramMerger

LOWEST_US = 1
HIGHEST_US = 3_600_000_000
DIGITS = 3
TABLE_PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)
# Evenly spaced on the 1/(1-p) axis of an HDR plot: 0%, 50%, 75%, ... up to 99.9999%.
CURVE_PERCENTILES = tuple(round(100.0 * (1.0 - 10 ** (-k / 10)), 6) for k in range(0, 61))


@dataclass(frozen=True)
class Distribution:
    """A latency distribution as (percentile, value in ms) points, plus count and max."""

    percentiles: tuple[float, ...]
    values_ms: tuple[float, ...]
    count: int
    max_ms: float

    def at(self, percentile: float) -> float:
        """The value at a percentile already in the curve (nearest lower point otherwise)."""
        best = 0.0
        for p, v in zip(self.percentiles, self.values_ms, strict=True):
            if p <= percentile + 1e-9:
                best = v
        return best


@dataclass
class HistogramSet:
    """One merged histogram per (op, metric)."""

    merged: dict[tuple[str, str], HdrHistogram] = field(default_factory=dict)

    def get(self, op: str, metric: str) -> HdrHistogram | None:
        return self.merged.get((op, metric))

    def ops(self, metric: str) -> list[str]:
        return [op for (op, m) in self.merged if m == metric]

    def combined(self, metric: str) -> HdrHistogram | None:
        """All operations' histograms of one metric added together."""
        parts = [h for (_, m), h in self.merged.items() if m == metric]
        if not parts:
            return None
        total = new_histogram()
        for part in parts:
            total.add(part)
        return total


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


LINE = re.compile(
    r'\{"t": [^,]*, (?:"dt": [^,]*, )?"op": "([A-Za-z0-9_]+)", "metric": "([A-Za-z0-9_]+)", "hdr": "([A-Za-z0-9+/=]*)"\}\s*'
)
"""A line exactly as the load suite writes it (json.dumps): read without a JSON parse; others are parsed."""


def _fields(line: str) -> tuple[str, str, str]:
    match = LINE.fullmatch(line)
    if match is not None:
        return match[1], match[2], match[3]
    row = json.loads(line)
    return str(row["op"]), str(row["metric"]), row["hdr"]


def read_histograms(path: Path, notes: list[str]) -> HistogramSet | None:
    """Add up every line's histogram into its (op, metric); bad lines are counted, not fatal."""
    merger = HistogramMerger(new_histogram)
    bad = 0
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        notes.append(f"histograms.jsonl could not be read ({exc}); that part is left out")
        return None
    with handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                op, metric, blob = _fields(line)
                merger.add((op, metric), blob)
            except Exception:  # a corrupt line (bad JSON, bad base64, bad zlib) is skipped and counted
                bad += 1
    if bad:
        notes.append(f"histograms.jsonl: {bad} line(s) could not be decoded and were skipped")
    result = HistogramSet(merger.result())
    return result if result.merged else None


def distribution(histogram: HdrHistogram) -> Distribution | None:
    """The percentile curve of a histogram in ms, or None when it holds no value."""
    count = int(histogram.get_total_count())
    if count == 0:
        return None
    values = histogram.get_percentile_to_value_dict(list(CURVE_PERCENTILES) + list(TABLE_PERCENTILES))
    points = sorted(values.items())
    return Distribution(
        percentiles=tuple(p for p, _ in points),
        values_ms=tuple(v / 1000.0 for _, v in points),
        count=count,
        max_ms=histogram.get_max_value() / 1000.0,
    )


def distribution_from_values(values_ms: Sequence[float]) -> Distribution | None:
    """The same curve from raw samples (jobs.csv), when no histogram was written."""
    clean = sorted(v for v in values_ms if v == v)
    if not clean:
        return None
    count = len(clean)
    points = sorted(set(CURVE_PERCENTILES) | set(TABLE_PERCENTILES))
    values = tuple(clean[min(count - 1, max(0, math.ceil(p / 100.0 * count) - 1))] for p in points)
    return Distribution(tuple(points), values, count, clean[-1])

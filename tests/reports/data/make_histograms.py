"""Regenerate load_small/histograms.jsonl: known values so tests can check exact percentiles.

run/latency: 1..50 ms in interval 0 and 51..100 ms in interval 1 (merged: 1..100 ms, one each).
run/corrected_latency: the same values plus 10 ms. status/latency: ten times 5 ms in interval 0.
Run: python tests/reports/data/make_histograms.py
"""

from __future__ import annotations

import json
from pathlib import Path

from hdrh.histogram import HdrHistogram


def encoded(values_ms: list[int]) -> str:
    hist = HdrHistogram(1, 3_600_000_000, 3)
    for value in values_ms:
        hist.record_value(value * 1000)
    data: bytes = hist.encode()
    return data.decode("ascii")


def main() -> None:
    lines = [
        {"t": 0.0, "op": "run", "metric": "latency", "hdr": encoded(list(range(1, 51)))},
        {"t": 0.0, "op": "status", "metric": "latency", "hdr": encoded([5] * 10)},
        {"t": 0.0, "op": "run", "metric": "corrected_latency", "hdr": encoded(list(range(11, 61)))},
        {"t": 1.0, "op": "run", "metric": "latency", "hdr": encoded(list(range(51, 101)))},
        {"t": 1.0, "op": "run", "metric": "corrected_latency", "hdr": encoded(list(range(61, 111)))},
    ]
    out = Path(__file__).parent / "load_small" / "histograms.jsonl"
    out.write_text("".join(json.dumps(line) + "\n" for line in lines))


if __name__ == "__main__":
    main()

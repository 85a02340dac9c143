"""histograms.jsonl: one line per second up to an hour, wider intervals beyond, sums kept exact."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from hdrh.histogram import HdrHistogram

from locustfiles._metrics import Aggregator, Recorder
from locustfiles._writers import ResultWriter, histogram_span_s


def test_the_span_is_one_second_up_to_an_hour_then_grows_with_the_run() -> None:
    assert [histogram_span_s(s) for s in (1, 600, 3600, 3601, 7200, 21_600, 86_400)] == [1, 1, 1, 2, 2, 6, 24]


def _write(tmp_path: Path, seconds: int) -> tuple[list[dict[str, Any]], Aggregator]:
    rng = random.Random(5)
    left, right = Recorder(), Recorder()
    start = 1_000_000.0
    for i in range(seconds // 7):
        t = start + i * 7 + rng.random()
        for rec in (left, right):
            rec.request("run", t, t, t + rng.expovariate(1 / 0.02), 200, timeout=False)
        left.request("status", t, None, t + 0.004, 200, timeout=False)
    agg = Aggregator()
    agg.add({**left.drain(), "started": start})
    agg.add(right.drain())
    plan = cast(Any, SimpleNamespace(duration_s=float(seconds)))
    ResultWriter(plan, agg, tmp_path, ended=start + seconds, interrupted=False).write_histograms()
    lines = [json.loads(line) for line in (tmp_path / "histograms.jsonl").read_text().splitlines()]
    return lines, agg


def test_a_two_hour_run_writes_two_second_histograms_that_add_up_exactly(tmp_path: Path) -> None:
    lines, agg = _write(tmp_path, 7200)
    assert {line["dt"] for line in lines} == {2.0}
    assert all(line["t"] % 2 == 0 for line in lines)
    per_key: Counter[tuple[float, str, str]] = Counter(
        (line["t"], line["op"], line["metric"]) for line in lines
    )
    assert max(per_key.values()) == 1  # both processes' seconds merged into one line per interval
    keys = sorted({(line["op"], line["metric"]) for line in lines})
    assert len(keys) == 4  # run and status (a follow-up here), service and corrected time
    for op, metric in keys:
        merged = HdrHistogram(1, 3_600_000_000, 3)
        for line in lines:
            if (line["op"], line["metric"]) == (op, metric):
                merged.decode_and_add(line["hdr"])
        whole = agg.run_histogram(op, metric, agg.seconds())
        assert whole is not None
        assert merged.get_total_count() == whole.get_total_count() > 0
        for pct in (50.0, 99.0, 100.0):
            assert merged.get_value_at_percentile(pct) == whole.get_value_at_percentile(pct)


def test_a_short_run_keeps_one_line_per_second(tmp_path: Path) -> None:
    lines, agg = _write(tmp_path, 600)
    assert {line["dt"] for line in lines} == {1.0}
    run_seconds = {s for s, op in agg.counts if op == "run"}
    assert len({line["t"] for line in lines if line["op"] == "run"}) == len(run_seconds)

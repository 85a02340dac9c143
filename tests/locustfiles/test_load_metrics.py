"""Per-second recording, draining and exact merging across processes."""

from __future__ import annotations

import random

from locustfiles._metrics import Aggregator, Recorder, new_histogram, value_at_percentiles


def test_429s_and_timeouts_are_counted_apart_as_subsets_of_failures() -> None:
    rec = Recorder()
    rec.request("run", 10.2, 10.2, 10.21, 200, timeout=False)
    rec.request("run", 10.3, 10.3, 10.31, 429, timeout=False)
    rec.request("run", 10.4, 10.4, 10.41, 0, timeout=True)
    rec.request("run", 10.5, 10.5, 10.51, 500, timeout=False)
    rec.request("run", 10.6, 10.6, 10.61, 0, timeout=False)  # connection refused
    [row] = rec.drain()["intervals"]
    counts = row["counts"]
    assert counts["requests"] == 5
    assert counts["rate_limited"] == 1
    assert counts["timeouts"] == 1
    assert counts["failures"] == 4  # errors = failures - rate_limited = 3 (timeout, 500, refused)
    assert counts["status_429"] == 1 and counts["status_5xx"] == 1 and counts["status_other"] == 2
    status_columns = ("status_2xx", "status_4xx", "status_429", "status_5xx", "status_other")
    assert sum(counts.get(c, 0) for c in status_columns) == counts["requests"]


def test_corrected_latency_runs_from_the_intended_send() -> None:
    rec = Recorder()
    rec.request("status", 5.5, 5.0, 5.51, 200, timeout=False)  # sent 0.5 s late, served in 10 ms
    agg = Aggregator()
    agg.add(rec.drain())
    service = agg.merged(5, "status", "latency")
    corrected = agg.merged(5, "status", "corrected_latency")
    assert service is not None and corrected is not None
    assert 9_900 <= service.get_max_value() <= 10_100
    assert 509_000 <= corrected.get_max_value() <= 511_000


def test_drain_keeps_the_open_second_until_it_closes() -> None:
    rec = Recorder()
    rec.request("run", 1.5, 1.5, 1.6, 200, timeout=False)
    rec.request("run", 1.9, 1.9, 2.6, 200, timeout=False)  # counted when it finished
    assert [r["s"] for r in rec.drain(before=2.7)["intervals"]] == [1]
    assert [r["s"] for r in rec.drain()["intervals"]] == [2]
    assert rec.shipped["run:requests"] == 2


def test_merging_two_processes_equals_recording_everything_in_one() -> None:
    rng = random.Random(3)
    one, left, right = Recorder(), Recorder(), Recorder()
    for i in range(2000):
        t = 100 + i / 400
        ms = rng.expovariate(1 / 20)
        code = 429 if i % 17 == 0 else 200
        for rec in (one, left if i % 3 else right):
            rec.request("run", t, t, t + ms / 1000, code, timeout=False)
    whole, merged = Aggregator(), Aggregator()
    whole.add(one.drain())
    merged.add(left.drain())
    merged.add(right.drain())
    assert whole.counts == merged.counts
    seconds = whole.seconds()
    a = whole.run_histogram("run", "latency", seconds)
    b = merged.run_histogram("run", "latency", seconds)
    assert a is not None and b is not None
    assert a.get_total_count() == b.get_total_count() == 2000
    for p in (50, 90, 99, 99.9, 100):
        assert a.get_value_at_percentile(p) == b.get_value_at_percentile(p)


def test_histogram_range_is_one_microsecond_to_one_hour_at_three_digits() -> None:
    hist = new_histogram()
    hist.record_value(3_600_000_000)
    assert hist.get_max_value() >= 3_599_000_000


def test_fast_percentiles_match_hdrhistogram_exactly() -> None:
    rng = random.Random(5)
    hist = new_histogram()
    for _ in range(5000):
        hist.record_value(int(rng.lognormvariate(8, 1.5)) + 1)
    wanted = [0.0, 50.0, 90.0, 99.0, 99.9, 100.0]
    fast = value_at_percentiles(hist, wanted)
    assert fast == {p: hist.get_value_at_percentile(p) for p in wanted}


def test_follow_up_calls_are_counted_on_their_own_row_and_scheduled_sends_per_flow() -> None:
    rec = Recorder()
    rec.request("status", 3.0, 3.0, 3.01, 200, timeout=False, flow="status")  # scheduled
    rec.request("status", 3.2, None, 3.21, 200, timeout=False)  # a run_poll job's poll
    rec.request("status", 3.4, None, 3.41, 503, timeout=False)
    rec.request("run", 3.5, 3.5, 3.51, 200, timeout=False, flow="run_poll")
    agg = Aggregator()
    agg.add(rec.drain())
    assert agg.total("status")["requests"] == 1 and agg.total("status")["flow:status"] == 1
    assert agg.total("status_follow_up")["requests"] == 2
    assert agg.total("status_follow_up")["failures"] == 1
    assert agg.total("run")["flow:run_poll"] == 1
    assert sorted(agg.ops()) == ["run", "status", "status_follow_up"]

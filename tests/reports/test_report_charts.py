"""Every chart function alone, on normal data and on edge cases: empty, one sample, one operation."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from reports import charts_dist, charts_time
from reports.chartkit import MAX_POINTS
from reports.folder import HEALTH_COLUMNS, INTERVAL_COLUMNS
from reports.hdr import distribution_from_values


def check_svg(image: bytes, *texts: str) -> str:
    root = ET.fromstring(image)
    assert root.tag.endswith("svg")
    assert float(root.get("width", "0").rstrip("pt")) > 0 and float(root.get("height", "0").rstrip("pt")) > 0
    text = image.decode("utf-8")
    for expected in texts:
        assert expected in text, expected  # matplotlib keeps each label as an SVG comment
    return text


def intervals(ops=("run", "status"), seconds=5):
    rows = []
    for t in range(seconds):
        for i, op in enumerate(ops):
            rows.append(
                {
                    "t": float(t),
                    "op": op,
                    "requests": 10 + i,
                    "failures": 1,
                    "rate_limited": 1,
                    "timeouts": 0,
                    "late_sends": t % 2,
                    "offered": 11 + i,
                    "p50_ms": 5.0 + i,
                    "p90_ms": 9.0,
                    "p95_ms": 10.0,
                    "p99_ms": 20.0,
                    "max_ms": 30.0,
                    "status_2xx": 9 + i,
                    "status_4xx": 0,
                    "status_429": 1,
                    "status_5xx": 0,
                    "status_other": 0,
                }
            )
    return pd.DataFrame(rows, columns=list(INTERVAL_COLUMNS))


EMPTY_INTERVALS = pd.DataFrame(columns=list(INTERVAL_COLUMNS))
TIME_CHARTS = [
    charts_time.throughput_chart,
    charts_time.latency_bands_chart,
    charts_time.status_chart,
    charts_time.offered_achieved_chart,
]


@pytest.mark.parametrize("chart", TIME_CHARTS)
def test_time_charts_on_normal_and_edge_data(chart):
    check_svg(chart(intervals()))
    check_svg(chart(intervals(ops=("runsync",))))  # a single operation
    check_svg(chart(intervals(seconds=1)))  # one sample
    check_svg(chart(EMPTY_INTERVALS), "no data")


def test_throughput_names_each_operation_and_the_total():
    check_svg(charts_time.throughput_chart(intervals(), ["status", "run"]), "run", "status", "all")


def test_status_chart_adds_a_429_panel_only_when_there_are_429s():
    check_svg(charts_time.status_chart(intervals()), "429 responses per operation", "run", "status")
    calm = intervals()
    calm["status_429"] = 0
    assert "429 responses per operation" not in check_svg(charts_time.status_chart(calm))


def test_latency_bands_skip_an_operation_without_latency():
    frame = intervals()
    frame.loc[frame["op"] == "status", ["p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms"]] = float("nan")
    text = check_svg(charts_time.latency_bands_chart(frame))
    assert "status" not in text and "run" in text


def test_long_runs_are_thinned():
    frame = intervals(ops=("run",), seconds=MAX_POINTS * 3)
    thinned = charts_time.thin(frame.set_index("t")[["requests"]])
    assert len(thinned) == MAX_POINTS
    check_svg(charts_time.throughput_chart(frame))


def health(rows):
    return pd.DataFrame(
        [{c: (float(i) if c != "status" else 200) for c in HEALTH_COLUMNS} for i in range(rows)],
        columns=list(HEALTH_COLUMNS),
    )


def test_health_chart():
    check_svg(charts_time.health_chart(health(6)), "in queue", "running")
    check_svg(charts_time.health_chart(health(1)))
    check_svg(charts_time.health_chart(health(0)), "no data")


def test_overlay_chart():
    series = pd.Series([1.0, 2.0, 3.0], index=[0.0, 1.0, 2.0])
    check_svg(
        charts_time.overlay_chart({"base": series, "candidate": series * 2}, "t", "ms", log=True),
        "base",
        "candidate",
    )
    check_svg(charts_time.overlay_chart({"base": series.iloc[:1]}, "t", "ms"))
    check_svg(
        charts_time.overlay_chart({"base": None, "candidate": pd.Series(dtype=float)}, "t", "ms"), "no data"
    )


def test_percentile_chart():
    many = distribution_from_values([float(v) for v in range(1, 1001)])
    one = distribution_from_values([7.0])
    check_svg(charts_dist.percentile_chart({"run": many, "status": one}, "latency"), "99.9%")
    check_svg(charts_dist.percentile_chart({"run": one}, "latency"))
    check_svg(charts_dist.percentile_chart({"run": None}, "latency"), "no data")
    check_svg(charts_dist.percentile_chart({}, "latency"), "no data")


def test_job_summary_chart():
    check_svg(
        charts_dist.job_summary_chart({"delay_p50_ms": 5.0, "execution_p95_ms": 9.0}),
        "queue delay",
        "execution",
    )
    check_svg(charts_dist.job_summary_chart({"end_to_end_max_ms": 1.0}))
    check_svg(charts_dist.job_summary_chart({}), "no data")


def test_capacity_chart():
    steps = [{"offered_rps": r, "achieved_rps": min(r, 10), "p95_ms": 100 * r} for r in (2, 6, 10, 14)]
    check_svg(charts_dist.capacity_chart(steps, 10.0), "knee")
    check_svg(charts_dist.capacity_chart(steps[:1]))
    check_svg(charts_dist.capacity_chart([{"offered_rps": 1}]))  # no latency measured
    check_svg(charts_dist.capacity_chart([]), "no data")


def test_goodput_chart():
    rows = [{"offered_rps": r, "achieved_rps": min(r, 3), "goodput_rps": min(r, 2.5)} for r in (0.5, 1, 2, 3)]
    check_svg(charts_dist.goodput_chart(rows, 2.0), "goodput", "knee")
    check_svg(charts_dist.goodput_chart([{"offered_rps": 1, "goodput_rps": None}]), "no data")


def test_limit_probe_chart():
    timeline = [[0.0, 0.0, 200, 1.0], [0.05, 0.05, 429, 1.0], [10.5, 10.5, 200, 1.0]]
    check_svg(charts_dist.limit_probe_chart("run", timeline, 10.0), "429", "not limited")
    check_svg(charts_dist.limit_probe_chart("run", timeline[:1], None))
    check_svg(charts_dist.limit_probe_chart("run", [], 10.0), "no data")


def test_job_timeline_chart():
    jobs = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "submitted_t": [0.0, 1.0, 2.0],
            "final_status": ["COMPLETED", "FAILED", "COMPLETED"],
            "delay_time_ms": [10.0, 50.0, 0.0],
            "execution_time_ms": [5.0, 5.0, 6.0],
            "end_to_end_ms": [16.0, 56.0, 7.0],
            "polls": [1, 2, 3],
        }
    )
    check_svg(charts_time.job_timeline_chart(jobs), "queue delay", "failed")
    check_svg(charts_time.job_timeline_chart(jobs.iloc[:1]))
    check_svg(charts_time.job_timeline_chart(jobs.iloc[:0]), "no data")
    many = pd.concat([jobs] * 2000, ignore_index=True)
    many["submitted_t"] = range(len(many))
    assert len(charts_time.job_timeline_chart(many)) < 400_000  # rasterized dots keep the SVG small

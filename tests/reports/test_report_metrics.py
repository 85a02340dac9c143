"""Metrics from hand-made result folders, checked against answers worked out by hand."""

from __future__ import annotations

import pytest

from reports.folder import read_folder
from reports.metrics import conformance_counts, job_metrics, metric_values, operation_rows, run_duration_s

HDR = 1e-3  # 3 significant digits: a value read back is within 0.1% of the one recorded


def by_op(rows):
    return {row["op"]: row for row in rows}


def test_load_only_folder_counts_come_from_the_intervals(result_folder):
    rows = by_op(operation_rows(read_folder(result_folder("load_small"))))
    run = rows["run"]
    assert run["requests"] == 100
    assert run["failures"] == 5 and run["rate_limited"] == 3 and run["timeouts"] == 1
    assert run["errors"] == 2 and run["error_rate"] == pytest.approx(0.02)
    assert run["rate_limited_share"] == pytest.approx(0.03)
    assert run["timeout_rate"] == pytest.approx(0.01)
    assert run["achieved_rps"] == pytest.approx(50.0)  # 100 requests over intervals t=0..1 (2 s)
    assert run["offered_rps"] == pytest.approx(55.0)  # (50 + 60) / 2 s
    assert run["late_sends"] == 2
    assert run["status_classes"] == {"2xx": 95, "4xx": 0, "429": 3, "5xx": 1, "other": 1}
    assert rows["status"]["achieved_rps"] == pytest.approx(5.0)
    assert rows["all"]["requests"] == 110 and rows["all"]["achieved_rps"] == pytest.approx(55.0)


def test_percentiles_come_from_the_merged_histograms(result_folder):
    rows = by_op(operation_rows(read_folder(result_folder("load_small"))))
    run = rows["run"]  # 1..100 ms once each, split over two intervals
    assert run["p50_ms"] == pytest.approx(50.0, rel=HDR)
    assert run["p90_ms"] == pytest.approx(90.0, rel=HDR)
    assert run["p99_ms"] == pytest.approx(99.0, rel=HDR)
    assert run["p999_ms"] == pytest.approx(100.0, rel=HDR)
    assert run["max_ms"] == pytest.approx(100.0, rel=HDR)
    assert run["corrected_p50_ms"] == pytest.approx(60.0, rel=HDR)
    assert rows["status"]["p99_ms"] == pytest.approx(5.0, rel=HDR)
    # all = run + status: 110 values, 10 of them 5 ms; the median is the 55th value = 45 ms
    assert rows["all"]["p50_ms"] == pytest.approx(45.0, rel=HDR)


def test_summary_json_takes_precedence_and_fills_what_intervals_lack(result_folder):
    rows = by_op(operation_rows(read_folder(result_folder("full"))))
    run = rows["run"]
    assert run["p95_ms"] == 123.0  # from summary.json, not the interval rows
    assert run["achieved_rps"] == 19.5 and run["offered_rps"] == 20.0
    assert run["errors"] == 2 and run["error_rate"] == pytest.approx(2 / 78)
    assert run["status_codes"] == {"200": 72, "429": 4, "500": 2}
    assert rows["all"]["requests"] == 118
    assert rows["status"]["status_codes"]["404"] == 3


def test_job_metrics_from_jobs_csv(result_folder):
    jobs = job_metrics(read_folder(result_folder("load_small")))
    assert (
        jobs["submitted"] == 4 and jobs["completed"] == 2 and jobs["failed"] == 1 and jobs["timed_out"] == 1
    )
    assert jobs["failed_share"] == pytest.approx(0.25)
    assert jobs["delay_p50_ms"] == 200 and jobs["delay_p95_ms"] == 400 and jobs["delay_max_ms"] == 400
    assert jobs["execution_p50_ms"] == 20
    assert jobs["polls_per_job_mean"] == pytest.approx(3.5)


def test_job_metrics_from_summary(result_folder):
    jobs = job_metrics(read_folder(result_folder("full")))
    assert (
        jobs["delay_p95_ms"] == 4000 and jobs["execution_p95_ms"] == 500 and jobs["end_to_end_max_ms"] == 6800
    )
    assert jobs["failed"] == 2 and jobs["timed_out_share"] == pytest.approx(1 / 78)


def test_conformance_counts_come_from_the_claims(result_folder):
    counts = conformance_counts(read_folder(result_folder("full")))
    assert counts == {
        "passed": 2,
        "violations": 1,
        "recorded": 1,
        "harness_errors": 0,
        "skipped": 0,
        "uncovered": 1,
        "claims": 4,
    }


def test_metric_values_name_every_scope(result_folder):
    run = read_folder(result_folder("full"))
    values = metric_values(run)
    assert values["run.p95_ms"] == 123.0
    assert values["all.rate_limited_share"] == pytest.approx(4 / 118)
    assert values["conformance.violations"] == 1
    assert values["jobs.delay_p95_ms"] == 4000
    assert values["capacity.knee_rps"] == 10.0
    assert values["meta.duration_s"] == pytest.approx(4.0)
    assert run_duration_s(run) == pytest.approx(4.0)


def test_no_load_run_gives_no_rows(result_folder):
    run = read_folder(result_folder("conformance_only"))
    assert operation_rows(run) == []
    assert job_metrics(run) == {}
    assert conformance_counts(run)["harness_errors"] == 1

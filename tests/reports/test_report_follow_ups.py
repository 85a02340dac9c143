"""Scheduled sends and follow-up calls (scenario polls and reads) are rows of their own: the
offered rate is compared with the scheduled sends only, in the table, the chart and the rules."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from reports import build_report
from reports.charts_time import offered_achieved_table
from reports.folder import read_folder
from reports.metrics import metric_values, operation_rows
from reports.thresholds import parse_rule

COLUMNS = ["t", "op", "requests", "failures", "rate_limited", "timeouts", "late_sends", "offered"]
COLUMNS += ["p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms"]
COLUMNS += ["status_2xx", "status_4xx", "status_429", "status_5xx", "status_other"]


def _row(t: float, op: str, requests: int, offered: float | None) -> dict[str, object]:
    return {
        **dict.fromkeys(COLUMNS, 0),
        "t": t,
        "op": op,
        "requests": requests,
        "status_2xx": requests,
        "offered": "" if offered is None else offered,
        "p50_ms": 5,
        "p90_ms": 6,
        "p95_ms": 7,
        "p99_ms": 8,
        "max_ms": 9,
    }


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    rows = []
    for t in (0.0, 1.0):  # /status at 10/s as scheduled, plus 12 polls/s of run_poll jobs
        rows += [_row(t, "status", 10, 10.0), _row(t, "status_follow_up", 12, None)]
    with open(tmp_path / "intervals.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    codes = {"status": {"200": 20}, "status_follow_up": {"200": 24}}
    summary: dict[str, dict[str, Any]] = {
        "operations": {
            "status": {
                "offered_rps": 10.0,
                "achieved_rps": 10.0,
                "requests": 20,
                "failures": 0,
                "p99_ms": 8.0,
            }
        },
        "follow_ups": {
            "status_follow_up": {"achieved_rps": 12.0, "requests": 24, "failures": 0, "p99_ms": 8.0}
        },
        "total": {"offered_rps": 10.0, "achieved_rps": 10.0, "follow_up_rps": 12.0, "requests": 44},
        "flows": {"status": {"op": "status", "offered_rps": 10.0, "achieved_rps": 9.9, "requests": 20}},
    }
    for name, row in [*summary["operations"].items(), *summary["follow_ups"].items()]:
        row["status_codes"] = codes[name]
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    return tmp_path


def test_operation_rows_compare_scheduled_sends_with_the_offered_rate(folder: Path) -> None:
    rows = {r["op"]: r for r in operation_rows(read_folder(folder))}
    assert rows["status"]["achieved_rps"] == rows["status"]["offered_rps"] == 10.0
    follow = rows["status_follow_up"]
    assert follow["requests"] == 24 and follow["achieved_rps"] == 12.0
    assert "offered_rps" not in follow
    assert rows["all"]["requests"] == 44 and rows["all"]["achieved_rps"] == 10.0


def test_the_chart_draws_follow_ups_apart_from_the_achieved_rate(folder: Path) -> None:
    table = offered_achieved_table(read_folder(folder).intervals)
    assert list(table["offered"]) == [10.0, 10.0]
    assert list(table["requests"]) == [10, 10]  # not 22: polls are not sends of the schedule
    assert list(table["follow_ups"]) == [12, 12]


def test_rules_name_follow_up_rows_and_the_report_labels_them(folder: Path) -> None:
    rule = parse_rule("status_follow_up.p99_ms <= 10")
    assert metric_values(read_folder(folder))[rule.key] == 8.0
    with pytest.raises(Exception, match="unknown scope"):
        parse_rule("all_follow_up.p99_ms <= 10")
    page = build_report(folder).path.read_text()
    assert "status follow-ups" in page
    flows = page.split('<table id="flows">')[1].split("</table>")[0]
    assert "<td>status</td>" in flows and "99.00%" in flows  # each flow's achieved/offered

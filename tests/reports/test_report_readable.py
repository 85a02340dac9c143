"""What a reader sees: evidence in words and tables (raw JSON one click away), ticks in plain units,
zeros on a log axis said, worker states that add up, and a comparison that says INCOMPLETE."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from readable import raw_json_shown, scientific_labels, svg_texts

from reports import build_comparison, build_report, charts_dist, charts_time
from reports.chartkit import ms_label, plain_number
from reports.hdr import distribution_from_values

WIDE_MS = [0.0004, 0.003, 0.6, 7.0, 85.0, 950.0, 12_000.0, 600_000.0]


def test_tick_text_is_plain():
    assert [ms_label(v) for v in (0.0005, 0.5, 1, 10, 250, 1000, 1500, 60_000)] == [
        "0.0005 ms",
        "0.5 ms",
        "1 ms",
        "10 ms",
        "250 ms",
        "1 s",
        "1.5 s",
        "60 s",
    ]
    assert [plain_number(v) for v in (0.0006, 0.6, 2.5, 200, 3600, 86_400)] == [
        "0.0006",
        "0.6",
        "2.5",
        "200",
        "3,600",
        "86,400",
    ]


def _page(svg: bytes) -> str:
    import base64

    return 'src="data:image/svg+xml;base64,' + base64.b64encode(svg).decode() + '"'


@pytest.mark.parametrize("span", [WIDE_MS, WIDE_MS[2:4], [0.2, 0.9], [1.0, 3.0]])
def test_log_axes_never_use_scientific_notation(span):
    frame = pd.DataFrame(
        {
            "t": [float(i) for i in range(len(span))],
            "op": "run",
            "requests": 10,
            **{c: span for c in ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms")},
        }
    )
    for column in ("failures", "rate_limited", "timeouts", "late_sends", "offered"):
        frame[column] = 0
    for column in ("status_2xx", "status_4xx", "status_429", "status_5xx", "status_other"):
        frame[column] = 0
    curve = distribution_from_values(span * 50)
    jobs = pd.DataFrame(
        {
            "id": [str(i) for i in range(len(span))],
            "submitted_t": [float(i) for i in range(len(span))],
            "final_status": "COMPLETED",
            "delay_time_ms": span,
            "execution_time_ms": span[::-1],
            "end_to_end_ms": span,
            "polls": 1,
        }
    )
    series = pd.Series(span, index=[float(i) for i in range(len(span))])
    for svg in (
        charts_time.latency_bands_chart(frame),
        charts_dist.percentile_chart({"run": curve}, "latency"),
        charts_time.job_timeline_chart(jobs),
        charts_time.overlay_chart({"base": series}, "p95", "ms", log=True),
    ):
        html = _page(svg)
        assert scientific_labels(html) == []
        assert any(text.endswith(" ms") or text.endswith(" s") for text in svg_texts(html))


def test_the_checks_catch_what_they_look_for():
    assert scientific_labels(_page(b"<svg><!-- 6e-01 --><!-- $\\mathdefault{10^{-1}}$ --></svg>")) == [
        "6e-01",
        "$\\mathdefault{10^{-1}}$",
    ]
    shown = raw_json_shown('<p>{"a": 1}</p><details><summary>raw</summary><pre>{"b": 2}</pre></details>')
    assert shown == ['{"a": 1}']
    assert raw_json_shown("<details open><pre>[[1, 2]]</pre></details>") == ["[[1, 2]]"]


def test_zero_delays_are_drawn_on_a_marked_floor():
    jobs = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "submitted_t": [0.0, 1.0, 2.0],
            "final_status": "COMPLETED",
            "delay_time_ms": [0.0, 0.0, 40.0],
            "execution_time_ms": [5.0, 6.0, 7.0],
            "end_to_end_ms": [6.0, 7.0, 48.0],
            "polls": 1,
        }
    )
    texts = svg_texts(_page(charts_time.job_timeline_chart(jobs)))
    assert any("2 jobs with 0 ms queue delay drawn on this line (2 ms)" in t for t in texts), texts
    curve = distribution_from_values([0.0] * 60 + [3.0] * 40)
    texts = svg_texts(_page(charts_dist.percentile_chart({"delay": curve}, "delay")))
    assert any("0 ms percentiles of delay drawn on this line (1 ms)" in t for t in texts), texts


def test_workers_by_state_stacks_disjoint_states_only():
    health = pd.DataFrame(
        {
            "t": [0.0, 1.0, 2.0],
            "in_queue": 0,
            "in_progress": 1,
            "idle": [2, 1, 0],
            "initializing": 0,
            "ready": [2, 1, 0],
            "running": [1, 2, 3],
            "throttled": 0,
            "unhealthy": 0,
        }
    )
    texts = svg_texts(_page(charts_time.health_chart(health)))
    assert "idle" in texts and "running" in texts and "ready" not in texts
    assert charts_time.WORKER_STATES == ("idle", "initializing", "running", "throttled", "unhealthy")


def test_rate_limit_evidence_reads_as_sentences_and_tables(result_folder):
    html = build_report(result_folder("limits_only")).path.read_text()
    assert raw_json_shown(html) == []
    assert "Best fit: sliding window, 0 misplaced accepts of 4,289 answers" in html
    assert "Cold burst: 100 accepted before the first 429" in html
    assert "Retry-After: header 9; a request 7.952 s after got 429" in html
    assert "Concurrency: not measured (this operation answers at once" in html
    assert (
        '<table class="evidence-fit">' in html and '<tr class="best"><td class="left">sliding window' in html
    )
    assert '<table class="evidence-phases">' in html and "<td>3,897</td>" in html
    assert "<summary>Raw evidence (JSON)</summary><pre>{" in html
    assert "The rate-limit discovery was cut short</strong> (stopped by Ctrl-C (SIGINT))" in html
    assert 'requests <span class="pill incomplete">cut short</span>' in html
    assert "cut short: stopped by Ctrl-C (SIGINT)" in html  # the operation's note, as a list item


@pytest.mark.parametrize("name", ["full", "load_small", "conformance_only", "limits_only"])
def test_no_page_shows_raw_json_or_scientific_ticks(rendered, name):
    html = rendered(name)
    assert raw_json_shown(html) == []
    assert scientific_labels(html) == []


def test_compare_says_incomplete_and_counts_no_reply(result_folder, tmp_path):
    base = result_folder("load_small")
    candidate = tmp_path / "candidate"
    shutil.copytree(base, candidate)
    manifest = json.loads((candidate / "manifest.json").read_text())
    manifest.update(interrupted=True, interrupted_reason="target unreachable since t=3.0 s")
    (candidate / "manifest.json").write_text(json.dumps(manifest))
    intervals = pd.read_csv(candidate / "intervals.csv")
    intervals.loc[intervals["op"] == "run", "status_other"] += 2  # two refused connections a second
    intervals.to_csv(candidate / "intervals.csv", index=False)
    outcome = build_comparison(base, candidate, tmp_path / "cmp")
    html = outcome.path.read_text()
    assert '<div class="verdict incomplete" id="verdict"><span class="badge">INCOMPLETE</span>' in html
    assert "candidate run was cut short: target unreachable since t=3.0 s" in html
    assert "INCOMPLETE</span></h3>" in html and "the run was cut short</strong>" in html
    assert "no reply: connection errors" in html and "no reply: connection error rate" in html
    data = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert data["incomplete"] is True and data["breached"] is False
    rows = {(m["op"], m["metric"]): m for m in data["metrics"]}
    errors = rows[("run", "connection_errors")]
    assert errors["candidate"] - errors["base"] == 2 * len(intervals[intervals["op"] == "run"])
    assert (
        errors["verdict"] == "not judged"
        and rows[("run", "connection_error_rate")]["verdict"] != "not judged"
    )
    assert raw_json_shown(html) == [] and scientific_labels(html) == []
